#pragma once
// The HIP backend's constructor, in a translation unit of its own: HIP's and CUDA's runtime
// headers cannot be included together (both define char1, uchar1, ... vector types).
#include <memory>
#include <string>

#include "eclip/runtime/backend.hpp"

namespace eclip_c_detail {
/// A HipBackend on HIP device `ordinal`; its device name goes to *device_name.
std::unique_ptr<eclip::Backend> make_hip_backend(int ordinal, std::string* device_name);
}  // namespace eclip_c_detail
