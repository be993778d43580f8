// The C ABI's AMD operations on a HipBackend. libeclip_c and the application share one HIP
// runtime (libamdhip64.so), so a kernel's host address registered by the application launches
// here. A CU-masked stream has no context of its own: push/pop are no-ops.
#include <memory>

#include "eclip/backend/hip.hpp"
#include "vendor.hpp"

namespace eclip::c_abi {
namespace {

dim3 to_dim3(const std::uint32_t v[3]) { return dim3(v[0], v[1], v[2]); }

class HipOps final : public VendorOps {
 public:
  void launch_kernel(StreamHandle stream, const void* kernel, const std::uint32_t grid[3],
                     const std::uint32_t block[3], std::size_t shared_bytes, void** args) override {
    hip::detail::check(hipLaunchKernel(kernel, to_dim3(grid), to_dim3(block), args, shared_bytes, hip::stream_of(stream)),
                       "hipLaunchKernel");
  }

  void launch_function(StreamHandle stream, void* function, const std::uint32_t grid[3], const std::uint32_t block[3],
                       std::uint32_t shared_bytes, void** args, void** extra) override {
    hip::detail::check(hipModuleLaunchKernel(static_cast<hipFunction_t>(function), grid[0], grid[1], grid[2], block[0],
                                             block[1], block[2], shared_bytes, hip::stream_of(stream), args, extra),
                       "hipModuleLaunchKernel");
  }

  void launch_graph(StreamHandle stream, std::uint64_t graph_exec) override {
    hip::detail::check(hipGraphLaunch(reinterpret_cast<hipGraphExec_t>(graph_exec), hip::stream_of(stream)),
                       "hipGraphLaunch");
  }

  void push_context(StreamHandle) override {}
  void pop_context() override {}
};

}  // namespace

VendorBackend make_hip_backend(int ordinal) {
  hip::Options o;
  o.device = ordinal;
  auto backend = std::make_unique<hip::HipBackend>(o);
  VendorBackend v;
  v.device = backend->device().name;
  v.ops = std::make_unique<HipOps>();
  v.backend = std::move(backend);
  return v;
}

}  // namespace eclip::c_abi
