#pragma once
// The HSA runtime (ROCr) as eclip uses it: status checking, the init/shut-down reference, and GPU
// agents with the facts the AMD backend needs (CU count, shader engines, PCI location).
//
// ROCr counts hsa_init()/hsa_shut_down() pairs, so a Runtime may live beside HIP (which has its
// own reference) in one process. On a machine without /dev/kfd, hsa_init() fails with
// HSA_STATUS_ERROR_OUT_OF_RESOURCES; Runtime reports that as Errc::unavailable.
// Linking: anything that calls these needs libhsa-runtime64 (the eclip::hip target brings it).
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <hsa/hsa.h>
#include <hsa/hsa_ext_amd.h>

#include <fmt/format.h>

#include "eclip/core/error.hpp"

namespace eclip::hsa {

/// "HSA_STATUS_ERROR_INVALID_QUEUE (The queue is invalid.)": hsa_status_string splits into the
/// status name and its message. Works before hsa_init.
inline std::string status_text(hsa_status_t status) {
  const char* text = nullptr;
  if (hsa_status_string(status, &text) != HSA_STATUS_SUCCESS || text == nullptr)
    return fmt::format("hsa_status_t 0x{:x}", static_cast<unsigned>(status));
  std::string_view s(text);
  const auto colon = s.find(": ");
  if (colon == std::string_view::npos) return std::string(s);
  return fmt::format("{} ({})", s.substr(0, colon), s.substr(colon + 2));
}

/// Throws Error(`code`, "<call> failed: HSA_STATUS_... (message)") unless `status` is success.
inline void check(hsa_status_t status, std::string_view call, Errc code = Errc::backend) {
  if (status != HSA_STATUS_SUCCESS) throw Error(code, fmt::format("{} failed: {}", call, status_text(status)));
}

/// One reference on the HSA runtime: hsa_init() in the constructor, hsa_shut_down() in the
/// destructor. Move-only.
class Runtime {
 public:
  Runtime() { check(hsa_init(), "hsa_init", Errc::unavailable); }
  ~Runtime() {
    if (owned_) hsa_shut_down();
  }
  Runtime(Runtime&& o) noexcept : owned_(o.owned_) { o.owned_ = false; }
  Runtime& operator=(Runtime&&) = delete;
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

 private:
  bool owned_ = true;
};

/// What eclip reads from a GPU agent.
struct AgentInfo {
  hsa_agent_t agent{};
  std::string name;             ///< HSA_AGENT_INFO_NAME, e.g. "gfx906"
  unsigned compute_units = 0;   ///< HSA_AMD_AGENT_INFO_COMPUTE_UNIT_COUNT: active CUs
  unsigned shader_engines = 0;  ///< HSA_AMD_AGENT_INFO_NUM_SHADER_ENGINES (MI300X: all XCDs' SEs)
  unsigned arrays_per_engine = 0;  ///< HSA_AMD_AGENT_INFO_NUM_SHADER_ARRAYS_PER_SE
  std::uint32_t bdfid = 0;      ///< HSA_AMD_AGENT_INFO_BDFID: bus << 8 | device << 3 | function
  std::uint32_t domain = 0;     ///< HSA_AMD_AGENT_INFO_DOMAIN (PCI segment)
  std::uint32_t queue_max_packets = 0;  ///< HSA_AGENT_INFO_QUEUE_MAX_SIZE
  unsigned pci_bus() const noexcept { return (bdfid >> 8) & 0xffU; }
  unsigned pci_device() const noexcept { return (bdfid >> 3) & 0x1fU; }
};

template <class T>
T agent_attribute(hsa_agent_t agent, hsa_agent_info_t attribute, std::string_view what) {
  T value{};
  check(hsa_agent_get_info(agent, attribute, &value), fmt::format("hsa_agent_get_info({})", what));
  return value;
}

inline AgentInfo agent_info(hsa_agent_t agent) {
  AgentInfo info;
  info.agent = agent;
  char name[64] = {};
  check(hsa_agent_get_info(agent, HSA_AGENT_INFO_NAME, name), "hsa_agent_get_info(HSA_AGENT_INFO_NAME)");
  info.name = std::string(name, strnlen(name, sizeof name));
  auto amd = [](hsa_amd_agent_info_t a) { return static_cast<hsa_agent_info_t>(a); };
  info.compute_units = agent_attribute<std::uint32_t>(agent, amd(HSA_AMD_AGENT_INFO_COMPUTE_UNIT_COUNT),
                                                      "HSA_AMD_AGENT_INFO_COMPUTE_UNIT_COUNT");
  info.shader_engines = agent_attribute<std::uint32_t>(agent, amd(HSA_AMD_AGENT_INFO_NUM_SHADER_ENGINES),
                                                       "HSA_AMD_AGENT_INFO_NUM_SHADER_ENGINES");
  info.arrays_per_engine = agent_attribute<std::uint32_t>(agent, amd(HSA_AMD_AGENT_INFO_NUM_SHADER_ARRAYS_PER_SE),
                                                          "HSA_AMD_AGENT_INFO_NUM_SHADER_ARRAYS_PER_SE");
  info.bdfid = agent_attribute<std::uint32_t>(agent, amd(HSA_AMD_AGENT_INFO_BDFID), "HSA_AMD_AGENT_INFO_BDFID");
  info.domain = agent_attribute<std::uint32_t>(agent, amd(HSA_AMD_AGENT_INFO_DOMAIN), "HSA_AMD_AGENT_INFO_DOMAIN");
  info.queue_max_packets =
      agent_attribute<std::uint32_t>(agent, HSA_AGENT_INFO_QUEUE_MAX_SIZE, "HSA_AGENT_INFO_QUEUE_MAX_SIZE");
  return info;
}

/// Every GPU agent, in hsa_iterate_agents order. Needs a live Runtime.
inline std::vector<AgentInfo> gpu_agents() {
  std::vector<hsa_agent_t> agents;
  auto visit = [](hsa_agent_t agent, void* data) -> hsa_status_t {
    hsa_device_type_t type{};
    hsa_status_t s = hsa_agent_get_info(agent, HSA_AGENT_INFO_DEVICE, &type);
    if (s != HSA_STATUS_SUCCESS) return s;
    if (type == HSA_DEVICE_TYPE_GPU) static_cast<std::vector<hsa_agent_t>*>(data)->push_back(agent);
    return HSA_STATUS_SUCCESS;
  };
  check(hsa_iterate_agents(visit, &agents), "hsa_iterate_agents");
  std::vector<AgentInfo> out;
  out.reserve(agents.size());
  for (hsa_agent_t a : agents) out.push_back(agent_info(a));
  return out;
}

}  // namespace eclip::hsa
