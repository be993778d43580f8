// eclip::hip::HipBackend: CU-masked HIP streams, hipEvent markers, hipStreamWaitEvent barriers.
// Design notes and the ROCm 5.2 source references are in docs/amd.md.
#include "eclip/backend/hip.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <optional>

#include <fmt/ranges.h>

#include "eclip/backend/hsa/runtime.hpp"

namespace eclip::hip {

namespace {

/// Makes `device` current on this thread for the guard's lifetime (HIP's current device is per
/// thread; stream and event creation use it).
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    detail::check(hipGetDevice(&previous_), "hipGetDevice");
    if (previous_ != device) detail::check(hipSetDevice(device), fmt::format("hipSetDevice({})", device));
    restore_ = previous_ != device;
  }
  ~DeviceGuard() {
    if (restore_) (void)hipSetDevice(previous_);
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
  bool restore_ = false;
};

/// gfx major version: "gfx906" -> 9, "gfx90a" -> 9, "gfx1030" -> 10, "gfx942" -> 9; 0 if unknown.
unsigned gfx_major(std::string_view arch) {
  if (arch.substr(0, 3) != "gfx") return 0;
  std::string_view id = arch.substr(3);
  id = id.substr(0, id.find(':'));
  if (id.size() == 4 && std::isdigit(static_cast<unsigned char>(id[0])) && std::isdigit(static_cast<unsigned char>(id[1])))
    return static_cast<unsigned>((id[0] - '0') * 10 + (id[1] - '0'));
  if (id.size() == 3 && std::isdigit(static_cast<unsigned char>(id[0]))) return static_cast<unsigned>(id[0] - '0');
  return 0;
}

bool is_cdna3(std::string_view arch) { return arch.substr(0, 5) == "gfx94"; }

}  // namespace

std::string unavailable_reason() {
  int count = 0;
  const hipError_t e = hipGetDeviceCount(&count);
  if (e != hipSuccess) return fmt::format("no AMD GPU (hipGetDeviceCount = {})", hipGetErrorName(e));
  if (count == 0) return "no AMD GPU (hipGetDeviceCount reports 0 devices)";
  return "";
}

std::string short_device_name(std::string_view name, std::string_view arch) {
  std::size_t pos = 0;
  while (pos < name.size()) {
    const std::size_t end = std::min(name.find(' ', pos), name.size());
    std::string_view word = name.substr(pos, end - pos);
    if (word.size() >= 3 && word[0] == 'M' && word[1] == 'I' && std::isdigit(static_cast<unsigned char>(word[2])))
      return std::string(word.substr(0, word.find('/')));
    pos = end + 1;
  }
  return std::string(arch.substr(0, arch.find(':')));
}

Topology topology_from_layout(std::string_view device_name, const hsa::CuMaskLayout& layout,
                              unsigned max_masked_streams, std::string source) {
  Topology t;
  t.name = std::string(device_name);
  t.vendor = Vendor::amd;
  t.group_sizes = layout.group_sizes();
  t.max_masked_streams = max_masked_streams;
  const unsigned n = layout.groups();
  if (n <= 4) {
    for (unsigned g = 1; g <= n; ++g) t.size_classes.push_back(g);
  } else {
    for (unsigned g = 1; g < n; g *= 2) t.size_classes.push_back(g);
    t.size_classes.push_back(n);
  }
  t.source = std::move(source);
  t.validate();
  return t;
}

struct HipBackend::Impl {
  Options options;
  DeviceInfo info;
  std::optional<hsa::Runtime> hsa_runtime;
  std::optional<hsa::CuMaskLayout> layout;
  Topology topo;

  mutable std::mutex mu;
  std::map<hipStream_t, CuMask> streams;  // live streams and their masks
  std::vector<hipEvent_t> free_events;    // the marker pool
  std::vector<hipEvent_t> all_events;

  hipEvent_t new_event() {
    DeviceGuard guard(options.device);
    hipEvent_t e = nullptr;
    detail::check(hipEventCreateWithFlags(&e, hipEventDisableTiming), "hipEventCreateWithFlags");
    return e;
  }
};

HipBackend::HipBackend(const Options& options) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.options = options;
  int count = 0;
  const hipError_t e = hipGetDeviceCount(&count);
  if (e != hipSuccess)
    throw Error(Errc::unavailable, fmt::format("no AMD GPU (hipGetDeviceCount = {})", hipGetErrorName(e)));
  if (count == 0) throw Error(Errc::unavailable, "no AMD GPU (hipGetDeviceCount reports 0 devices)");
  if (options.device < 0 || options.device >= count)
    throw Error(Errc::invalid_argument,
                fmt::format("HipBackend: device {} out of range: HIP sees {} device(s)", options.device, count));

  hipDeviceProp_t prop{};
  detail::check(hipGetDeviceProperties(&prop, options.device), "hipGetDeviceProperties");
  DeviceInfo& d = m.info;
  d.ordinal = options.device;
  d.name = prop.name;
  d.arch = prop.gcnArchName;
  d.compute_units = static_cast<unsigned>(prop.multiProcessorCount);
  d.pci_domain = prop.pciDomainID;
  d.pci_bus = prop.pciBusID;
  d.pci_device = prop.pciDeviceID;

  // The GPU agent with the same PCI location (HIP and HSA may enumerate differently under
  // HIP_VISIBLE_DEVICES / ROCR_VISIBLE_DEVICES).
  m.hsa_runtime.emplace();
  const std::vector<hsa::AgentInfo> agents = hsa::gpu_agents();
  const hsa::AgentInfo* agent = nullptr;
  for (const hsa::AgentInfo& a : agents)
    if (a.domain == static_cast<std::uint32_t>(d.pci_domain) && a.pci_bus() == static_cast<unsigned>(d.pci_bus) &&
        a.pci_device() == static_cast<unsigned>(d.pci_device)) {
      agent = &a;
      d.agent_match = fmt::format("PCI {:04x}:{:02x}:{:02x}", d.pci_domain, d.pci_bus, d.pci_device);
      break;
    }
  if (agent == nullptr && static_cast<std::size_t>(options.device) < agents.size()) {
    agent = &agents[static_cast<std::size_t>(options.device)];
    d.agent_match = fmt::format("GPU agent #{} (no agent at PCI {:04x}:{:02x}:{:02x})", options.device,
                                d.pci_domain, d.pci_bus, d.pci_device);
  }
  if (agent == nullptr)
    throw Error(Errc::unavailable,
                fmt::format("HipBackend: HIP device {} (PCI {:04x}:{:02x}:{:02x}) matches none of the {} HSA GPU "
                            "agents",
                            options.device, d.pci_domain, d.pci_bus, d.pci_device, agents.size()));
  d.hsa_agent = agent->name;
  d.shader_engines = agent->shader_engines;
  d.arrays_per_engine = std::max(1U, agent->arrays_per_engine);
  if (d.shader_engines == 0)
    throw Error(Errc::backend, fmt::format("HipBackend: HSA_AMD_AGENT_INFO_NUM_SHADER_ENGINES is 0 on {}", d.hsa_agent));
  // CDNA3 (gfx94x) packs 4 shader engines per compute die and amdkfd interleaves mask bits over
  // the dies first (kfd_mqd_manager.c); ROCm 5.2's HSA has no die-count query.
  d.xccs = is_cdna3(d.arch) && d.shader_engines % 4 == 0 ? d.shader_engines / 4 : 1;
  const unsigned step = gfx_major(d.arch) >= 10 ? 2U : 1U;
  try {
    m.layout.emplace(hsa::CuMaskLayout::uniform(d.compute_units, d.shader_engines, d.arrays_per_engine, d.xccs, step));
  } catch (const Error& err) {
    d.layout_note = fmt::format("{}; assumed one die", err.what());
    d.xccs = 1;
    m.layout.emplace(hsa::CuMaskLayout::uniform(d.compute_units, d.shader_engines, d.arrays_per_engine, 1, step));
  }
  if (d.compute_units % (d.shader_engines * d.arrays_per_engine) != 0 && d.layout_note.empty())
    d.layout_note = fmt::format("{} CUs over {} engines x {} arrays is uneven: extra CUs assumed on the lowest engines",
                                d.compute_units, d.shader_engines, d.arrays_per_engine);
  if (agent->compute_units != d.compute_units)
    throw Error(Errc::backend,
                fmt::format("HipBackend: HIP reports {} CUs but HSA agent {} reports {}", d.compute_units, d.hsa_agent,
                            agent->compute_units));

  // MI50 and MI60 share the marketing name "AMD Instinct MI50/MI60"; the MI60 has 64 CUs.
  std::string short_name = short_device_name(d.name, d.arch);
  if (short_name == "MI50" && d.compute_units == 64) short_name = "MI60";
  m.topo = topology_from_layout(
      short_name, *m.layout, options.max_masked_streams,
      fmt::format("HIP device {} ({}, {}): {} CUs, {} shader engines (HSA); queue limit {}", d.ordinal, d.name,
                  d.arch, d.compute_units, d.shader_engines, options.max_masked_streams));

  for (unsigned i = 0; i < options.marker_pool; ++i) {
    m.all_events.push_back(m.new_event());
    m.free_events.push_back(m.all_events.back());
  }
}

HipBackend::~HipBackend() {
  Impl& m = *impl_;
  for (auto& [s, mask] : m.streams) (void)hipStreamDestroy(s);
  for (hipEvent_t e : m.all_events) (void)hipEventDestroy(e);
}

const Topology& HipBackend::topology() const noexcept { return impl_->topo; }
const DeviceInfo& HipBackend::device() const noexcept { return impl_->info; }
const hsa::CuMaskLayout& HipBackend::layout() const noexcept { return *impl_->layout; }

std::vector<std::uint32_t> HipBackend::hip_words(const CuMask& mask) const {
  const hsa::CuMaskLayout& l = *impl_->layout;
  if (mask.device_units() != l.units())
    throw Error(Errc::invalid_argument,
                fmt::format("HipBackend: mask of a {}-unit device; {} has {} CUs", mask.device_units(),
                            impl_->topo.name, l.units()));
  return impl_->options.raw_cu_bits ? mask.hip_words() : l.hip_words(mask);
}

StreamHandle HipBackend::create_stream(const CuMask& mask) {
  Impl& m = *impl_;
  const std::vector<std::uint32_t> words = hip_words(mask);
  if (mask.empty())
    throw Error(Errc::invalid_argument, fmt::format("HipBackend: empty CU mask for {}", m.topo.name));
  DeviceGuard guard(m.options.device);
  hipStream_t s = nullptr;
  if (mask.full()) {
    detail::check(hipStreamCreateWithFlags(&s, hipStreamNonBlocking), "hipStreamCreateWithFlags");
  } else {
    const hipError_t e = hipExtStreamCreateWithCUMask(&s, static_cast<std::uint32_t>(words.size()), words.data());
    if (e != hipSuccess)
      throw Error(Errc::backend,
                  fmt::format("hipExtStreamCreateWithCUMask failed: {} (units {}, words {:#010x})", error_text(e),
                              mask.to_string(), fmt::join(words, ",")));
  }
  std::lock_guard lock(m.mu);
  m.streams.emplace(s, mask);
  return handle_of(s);
}

void HipBackend::destroy_stream(StreamHandle stream) noexcept {
  Impl& m = *impl_;
  hipStream_t s = stream_of(stream);
  {
    std::lock_guard lock(m.mu);
    if (m.streams.erase(s) == 0) return;
  }
  (void)hipStreamDestroy(s);
}

MarkerHandle HipBackend::record_marker(StreamHandle stream) {
  Impl& m = *impl_;
  hipEvent_t e = nullptr;
  {
    std::lock_guard lock(m.mu);
    if (!m.free_events.empty()) {
      e = m.free_events.back();
      m.free_events.pop_back();
    }
  }
  if (e == nullptr) {
    e = m.new_event();
    std::lock_guard lock(m.mu);
    m.all_events.push_back(e);
  }
  const hipError_t r = hipEventRecord(e, stream_of(stream));
  if (r != hipSuccess) {
    std::lock_guard lock(m.mu);
    m.free_events.push_back(e);
    detail::throw_hip(r, "hipEventRecord");
  }
  return MarkerHandle{reinterpret_cast<std::uint64_t>(e)};
}

bool HipBackend::marker_done(MarkerHandle marker) {
  const hipError_t r = hipEventQuery(event_of(marker));
  if (r == hipSuccess) return true;
  if (r == hipErrorNotReady) return false;
  detail::throw_hip(r, "hipEventQuery");
}

void HipBackend::wait_marker(StreamHandle stream, MarkerHandle marker) {
  detail::check(hipStreamWaitEvent(stream_of(stream), event_of(marker), 0), "hipStreamWaitEvent");
}

void HipBackend::release_marker(MarkerHandle marker) noexcept {
  Impl& m = *impl_;
  try {
    std::lock_guard lock(m.mu);
    m.free_events.push_back(event_of(marker));
  } catch (...) {
    // push_back can only fail on allocation; the event stays in all_events and is destroyed later.
  }
}

void HipBackend::remask_stream(StreamHandle /*stream*/, const CuMask& mask) {
  throw Error(Errc::unavailable,
              fmt::format("hip backend cannot remask a stream in place (units {}): HIP 5.2 has no call that changes a "
                          "hipStream_t's CU mask and the HSA queue behind it is private to ROCclr; measure the remask "
                          "on an eclip-owned queue with eclip::hsa::Queue::set_cu_mask (docs/amd.md)",
                          mask.to_string()));
}

unsigned HipBackend::live_streams() const {
  std::lock_guard lock(impl_->mu);
  return static_cast<unsigned>(impl_->streams.size());
}

CuMask HipBackend::mask_of(StreamHandle stream) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->streams.find(stream_of(stream));
  if (it == impl_->streams.end())
    throw Error(Errc::invalid_argument, fmt::format("HipBackend: unknown stream 0x{:x}", stream.value));
  return it->second;
}

void HipBackend::synchronize(StreamHandle stream) {
  detail::check(hipStreamSynchronize(stream_of(stream)), "hipStreamSynchronize");
}

}  // namespace eclip::hip
