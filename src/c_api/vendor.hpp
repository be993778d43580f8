#pragma once
// What a GPU vendor adds to the vendor-free C ABI: kernel and graph launches on a routed stream,
// and a partition's context. Each vendor's implementation is a translation unit of its own
// (cuda_vendor.cpp, hip_vendor.cpp): HIP's and CUDA's runtime headers cannot be included together
// (both define char1, uchar1, ... vector types).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "eclip/runtime/backend.hpp"

namespace eclip::c_abi {

class VendorOps {
 public:
  virtual ~VendorOps() = default;
  /// Throws Errc::unavailable when launch_kernel cannot work in this process (checked before a
  /// unit is routed, so a launch that cannot happen takes no route).
  virtual void check_kernel_launch() const {}
  /// A __global__ function's host address: cudaLaunchKernel / hipLaunchKernel on `stream`.
  virtual void launch_kernel(StreamHandle stream, const void* kernel, const std::uint32_t grid[3],
                             const std::uint32_t block[3], std::size_t shared_bytes, void** args) = 0;
  /// A CUfunction / hipFunction_t: cuLaunchKernel / hipModuleLaunchKernel on `stream`.
  virtual void launch_function(StreamHandle stream, void* function, const std::uint32_t grid[3],
                               const std::uint32_t block[3], std::uint32_t shared_bytes, void** args,
                               void** extra) = 0;
  /// cuGraphLaunch / hipGraphLaunch of an instantiated graph on `stream`.
  virtual void launch_graph(StreamHandle stream, std::uint64_t graph_exec) = 0;
  /// Makes `stream`'s context current on the calling thread / restores the previous one.
  virtual void push_context(StreamHandle stream) = 0;
  virtual void pop_context() = 0;
};

/// A GPU backend with its vendor operations (which refer to it: destroy them first).
struct VendorBackend {
  std::unique_ptr<Backend> backend;
  std::unique_ptr<VendorOps> ops;
  std::string device;  ///< the full device name
};

/// NVIDIA: a GreenContextBackend on CUDA device `ordinal` (cuda_vendor.cpp).
VendorBackend make_cuda_backend(int ordinal);
/// AMD: a HipBackend on HIP device `ordinal` (hip_vendor.cpp).
VendorBackend make_hip_backend(int ordinal);

}  // namespace eclip::c_abi
