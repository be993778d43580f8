/* Compiled as C: the header is valid C, and the library links and answers from a C program. */
#include <stdio.h>
#include <string.h>

#include "eclip/eclip_c.h"

int main(void) {
  eclip_backend* be = NULL;
  eclip_topology_info info;
  if (eclip_abi_version() != ECLIP_C_ABI_VERSION) return 1;
  if (eclip_version() == NULL || eclip_version()[0] == '\0') return 1;
  if (eclip_backend_create("no-such-backend", &be) != ECLIP_E_INVALID_ARGUMENT || be != NULL) return 2;
  if (strstr(eclip_last_error(), "no-such-backend") == NULL) return 3;
  if (eclip_backend_create("sim:mi50", &be) != ECLIP_OK) {
    fprintf(stderr, "%s\n", eclip_last_error());
    return 4;
  }
  if (eclip_backend_topology(be, &info) != ECLIP_OK || info.units != 60 || info.groups != 4) return 5;
  printf("eclip %s, C ABI %d: %s, %u units in %u groups\n", eclip_version(), eclip_abi_version(), info.name, info.units,
         info.groups);
  eclip_backend_destroy(be);
  return 0;
}
