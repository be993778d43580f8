// The NVIDIA interposer's pointer paths without a driver: a program that dlopen's a stand-in
// libcuda and looks up cuGetProcAddress_v2 with dlsym on that handle (as a static CUDA runtime
// inside cuBLAS does) gets eclip's cuGetProcAddress_v2, which hands out eclip's cuLaunchKernel
// wrapper; with no plan, the wrapper passes the launch through to the stand-in unchanged.
// argv[1]: the stand-in's path; argv[2]: "wrapped" (under LD_PRELOAD) or "plain".
#include <dlfcn.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  const bool wrapped = std::string(argv[2]) == "wrapped";
  void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    std::fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  using GetProc = int (*)(const char*, void**, int, unsigned long long, int*);
  using Launch = int (*)(void*, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, void*, void**,
                         void**);
  auto get_proc = reinterpret_cast<GetProc>(dlsym(lib, "cuGetProcAddress_v2"));
  auto own = reinterpret_cast<void*>(dlsym(lib, "cuLaunchKernel"));
  auto* last = static_cast<std::uint64_t*>(dlsym(lib, "fakecuda_last_stream"));
  auto* count = static_cast<int*>(dlsym(lib, "fakecuda_launches"));
  int failures = 0;
  auto check = [&](bool ok, const char* what) {
    if (!ok) std::fprintf(stderr, "CHECK failed: %s\n", what), ++failures;
  };
  check(get_proc && own && last && count, "stand-in symbols found");
  if (failures) return 1;
  void* fn = nullptr;
  check(get_proc("cuLaunchKernel", &fn, 12000, 0, nullptr) == 0 && fn, "cuGetProcAddress_v2(cuLaunchKernel)");
  Dl_info info{};
  check(dladdr(fn, &info) != 0 && info.dli_fname, "dladdr");
  const bool from_eclip = info.dli_fname && std::strstr(info.dli_fname, "eclip_preload_cuda") != nullptr;
  check(from_eclip == wrapped, wrapped ? "the pointer is eclip's wrapper" : "the pointer is the driver's own");
  const int before = *count;
  reinterpret_cast<Launch>(fn)(nullptr, 1, 1, 1, 32, 1, 1, 0, reinterpret_cast<void*>(0x77), nullptr, nullptr);
  check(*count == before + 1 && *last == 0x77, "the launch reached the stand-in on its own stream");
  std::fprintf(stderr, "cuda_pointer_test %s: %s\n", argv[2], failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
