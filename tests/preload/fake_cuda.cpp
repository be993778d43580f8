// libfake_cuda.so: a stand-in driver for the NVIDIA interposer's pointer paths. It exports
// cuGetProcAddress_v2 and cuLaunchKernel; the launch records the stream it reached.
#include <cstdint>
#include <cstring>

extern "C" {
__attribute__((visibility("default"))) std::uint64_t fakecuda_last_stream = 0;
__attribute__((visibility("default"))) int fakecuda_launches = 0;

__attribute__((visibility("default"))) int cuLaunchKernel(void*, unsigned, unsigned, unsigned, unsigned, unsigned,
                                                          unsigned, unsigned, void* stream, void**, void**) {
  fakecuda_last_stream = reinterpret_cast<std::uint64_t>(stream);
  ++fakecuda_launches;
  return 0;
}
__attribute__((visibility("default"))) int cuGetProcAddress_v2(const char* symbol, void** pfn, int, unsigned long long,
                                                               int* status) {
  if (status) *status = 0;
  if (std::strcmp(symbol, "cuLaunchKernel") == 0) {
    *pfn = reinterpret_cast<void*>(&cuLaunchKernel);
    return 0;
  }
  *pfn = nullptr;
  return 500;  // CUDA_ERROR_NOT_FOUND
}
}
