#include "hip_factory.hpp"

#include "eclip/backend/hip.hpp"

namespace eclip_c_detail {
std::unique_ptr<eclip::Backend> make_hip_backend(int ordinal, std::string* device_name) {
  eclip::hip::Options o;
  o.device = ordinal;
  auto hip = std::make_unique<eclip::hip::HipBackend>(o);
  *device_name = hip->device().name;
  return hip;
}
}  // namespace eclip_c_detail
