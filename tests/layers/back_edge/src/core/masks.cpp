// A vendor header in a vendor-free layer: refused.
#include <hip/hip_runtime_api.h>
