// An nvcc-13-style program against a stand-in CUDA runtime (fake_cudart.cpp): it launches through
// one entry point, argv[1] = __cudaLaunchKernel | __cudaLaunchKernel_ptsz | cudaLaunchKernel.
// Under LD_PRELOAD=libeclip_preload_cuda.so without a plan the launch must reach the interposer
// (which then says once why it passes through: expect.sh counts that line; one entry point per
// process, since the line comes once) and arrive at the runtime unchanged.
#include <cstring>
#include <cstddef>
#include <cstdint>
#include <cstdio>

extern "C" {
struct FakeDim3 {
  unsigned x, y, z;
};
int __cudaLaunchKernel(void*, FakeDim3, FakeDim3, void**, std::size_t, void*);
int __cudaLaunchKernel_ptsz(void*, FakeDim3, FakeDim3, void**, std::size_t, void*);
int cudaLaunchKernel(const void*, FakeDim3, FakeDim3, void**, std::size_t, void*);
extern std::uint64_t fakecudart_streams[16];
extern int fakecudart_tags[16];
extern int fakecudart_launches;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const auto use = [&](const char* entry) { return std::strcmp(argv[1], entry) == 0; };
  int failures = 0;
  auto check = [&](bool ok, const char* what) {
    if (!ok) std::fprintf(stderr, "CHECK failed: %s\n", what), ++failures;
  };
  int tags[3] = {11, 22, 33};
  void* a0[] = {&tags[0]};
  void* a1[] = {&tags[1]};
  void* a2[] = {&tags[2]};
  int i = -1;
  if (use("__cudaLaunchKernel"))
    i = 0, check(__cudaLaunchKernel(nullptr, {1, 1, 1}, {32, 1, 1}, a0, 0, reinterpret_cast<void*>(0x10)) == 0, "launch");
  else if (use("__cudaLaunchKernel_ptsz"))
    i = 1, check(__cudaLaunchKernel_ptsz(nullptr, {1, 1, 1}, {32, 1, 1}, a1, 0, reinterpret_cast<void*>(0x20)) == 0,
                 "launch");
  else if (use("cudaLaunchKernel"))
    i = 2, check(cudaLaunchKernel(nullptr, {1, 1, 1}, {32, 1, 1}, a2, 0, reinterpret_cast<void*>(0x30)) == 0, "launch");
  else
    return 2;
  check(fakecudart_launches == 1, "the launch reached the runtime once");
  check(fakecudart_streams[0] == static_cast<std::uint64_t>(0x10 * (i + 1)), "on its own stream");
  check(fakecudart_tags[0] == tags[i], "with its own arguments");
  std::fprintf(stderr, "cuda_runtime_test: %s\n", failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
