/* A stand-in libcuda for the host tests: it resolves every symbol through cuGetProcAddress_v2 like
 * the real driver, answers CUDA_ERROR_NOT_INITIALIZED until cuInit, and then reports no device
 * (so the backend stops with Errc::unavailable after cuInit). What it lets a machine without a
 * GPU check is what the backend does to the environment before it starts the driver. */
#include <string.h>

typedef int CUresult;
enum { kSuccess = 0, kNotInitialized = 3, kNoDevice = 100, kNotSupported = 801 };

static int started = 0;

/* Fails like a driver without a device: the driver stays not started. */
static CUresult fake_cuInit(unsigned int flags) {
  (void)flags;
  return kNoDevice;
}

/* What another library's successful cuInit would do (the tests call it through dlsym). */
void eclip_fake_cuda_start(void) { started = 1; }

static CUresult fake_cuDeviceGetCount(int* count) {
  if (!started) return kNotInitialized;
  *count = 0;
  return kSuccess;
}

/* Every other function: resolved (the backend needs each one) but never called in these tests. */
static CUresult fake_unused(void) { return kNotSupported; }

CUresult cuGetProcAddress_v2(const char* symbol, void** out, int version, unsigned long long flags, int* status) {
  (void)version;
  (void)flags;
  if (strcmp(symbol, "cuInit") == 0)
    *out = (void*)&fake_cuInit;
  else if (strcmp(symbol, "cuDeviceGetCount") == 0)
    *out = (void*)&fake_cuDeviceGetCount;
  else
    *out = (void*)&fake_unused;
  if (status) *status = 0; /* CU_GET_PROC_ADDRESS_SUCCESS */
  return kSuccess;
}
