// The C ABI's NVIDIA operations: the GreenContextBackend's graph launch, module-function launch
// and contexts, and kernel launch by host address through the process's CUDA runtime.
//
// Why the process's runtime, not this library's: a __global__ function's host address means
// something only to the CUDA runtime that registered the kernel's fat binary, i.e. the one the
// application (or PyTorch) loaded. libeclip_c carries a static runtime of its own (hidden), which
// registered no kernel, so cudaLaunchKernel is looked up with dlsym(RTLD_DEFAULT) on first use.
#include <dlfcn.h>

#include <memory>
#include <string>

#include <fmt/format.h>

#include "eclip/backend/cuda.hpp"
#include "vendor.hpp"

namespace eclip::c_abi {
namespace {

using LaunchKernelFn = cudaError_t (*)(const void*, dim3, dim3, void**, std::size_t, cudaStream_t);
using ErrorNameFn = const char* (*)(cudaError_t);

struct ProcessRuntime {
  LaunchKernelFn launch = nullptr;
  ErrorNameFn error_name = nullptr;
  ErrorNameFn error_string = nullptr;
};

const ProcessRuntime& process_runtime() {
  static const ProcessRuntime rt = [] {
    ProcessRuntime r;
    r.launch = reinterpret_cast<LaunchKernelFn>(dlsym(RTLD_DEFAULT, "cudaLaunchKernel"));
    r.error_name = reinterpret_cast<ErrorNameFn>(dlsym(RTLD_DEFAULT, "cudaGetErrorName"));
    r.error_string = reinterpret_cast<ErrorNameFn>(dlsym(RTLD_DEFAULT, "cudaGetErrorString"));
    return r;
  }();
  return rt;
}

dim3 to_dim3(const std::uint32_t v[3]) { return dim3(v[0], v[1], v[2]); }

class CudaOps final : public VendorOps {
 public:
  explicit CudaOps(cuda::GreenContextBackend& backend) : backend_(backend) {}

  void check_kernel_launch() const override {
    if (process_runtime().launch == nullptr)
      throw Error(Errc::unavailable,
                  "cudaLaunchKernel: no CUDA runtime is loaded globally in this process (dlsym(RTLD_DEFAULT, "
                  "\"cudaLaunchKernel\") found none); a kernel's host address is known only to the runtime that "
                  "registered it: link libcudart.so, or load the kernel as a CUfunction and use "
                  "eclip_router_launch_function");
  }

  void launch_kernel(StreamHandle stream, const void* kernel, const std::uint32_t grid[3],
                     const std::uint32_t block[3], std::size_t shared_bytes, void** args) override {
    const ProcessRuntime& rt = process_runtime();
    const cudaError_t e = rt.launch(kernel, to_dim3(grid), to_dim3(block), args, shared_bytes, cuda::stream_of(stream));
    if (e != cudaSuccess) {
      const char* name = rt.error_name ? rt.error_name(e) : nullptr;
      const char* text = rt.error_string ? rt.error_string(e) : nullptr;
      throw Error(Errc::backend, fmt::format("cudaLaunchKernel failed: {} ({})", name ? name : std::to_string(e).c_str(),
                                             text ? text : "no description"));
    }
  }

  void launch_function(StreamHandle stream, void* function, const std::uint32_t grid[3], const std::uint32_t block[3],
                       std::uint32_t shared_bytes, void** args, void** extra) override {
    backend_.launch_function(stream, static_cast<CUfunction>(function), to_dim3(grid), to_dim3(block), shared_bytes,
                             args, extra);
  }

  void launch_graph(StreamHandle stream, std::uint64_t graph_exec) override { backend_.launch_graph(stream, graph_exec); }
  void push_context(StreamHandle stream) override { backend_.push_context(stream); }
  void pop_context() override { backend_.pop_context(); }

 private:
  cuda::GreenContextBackend& backend_;
};

}  // namespace

VendorBackend make_cuda_backend(int ordinal) {
  cuda::Options o;
  o.device = ordinal;
  auto backend = std::make_unique<cuda::GreenContextBackend>(o);
  VendorBackend v;
  v.device = backend->device().name;
  v.ops = std::make_unique<CudaOps>(*backend);
  v.backend = std::move(backend);
  return v;
}

}  // namespace eclip::c_abi
