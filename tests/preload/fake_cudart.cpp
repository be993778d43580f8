// libfake_cudart.so: a stand-in CUDA runtime for the NVIDIA interposer's runtime entry points. It
// exports the launch calls an nvcc-13 program reaches (__cudaLaunchKernel(_ptsz), the host stub's
// targets, and cudaLaunchKernel) and records the stream and first argument of each launch.
#include <cstdint>

extern "C" {
struct FakeDim3 {
  unsigned x, y, z;
};  // the layout of CUDA's dim3
__attribute__((visibility("default"))) std::uint64_t fakecudart_streams[16];
__attribute__((visibility("default"))) int fakecudart_tags[16];
__attribute__((visibility("default"))) int fakecudart_launches = 0;

static int record(void** args, void* stream) {
  if (fakecudart_launches < 16) {
    fakecudart_streams[fakecudart_launches] = reinterpret_cast<std::uint64_t>(stream);
    fakecudart_tags[fakecudart_launches] = args ? *static_cast<int*>(args[0]) : -1;
  }
  ++fakecudart_launches;
  return 0;
}
__attribute__((visibility("default"))) int __cudaLaunchKernel(void*, FakeDim3, FakeDim3, void** args, std::size_t,
                                                              void* stream) {
  return record(args, stream);
}
__attribute__((visibility("default"))) int __cudaLaunchKernel_ptsz(void*, FakeDim3, FakeDim3, void** args,
                                                                   std::size_t, void* stream) {
  return record(args, stream);
}
__attribute__((visibility("default"))) int cudaLaunchKernel(const void*, FakeDim3, FakeDim3, void** args,
                                                            std::size_t, void* stream) {
  return record(args, stream);
}
}
