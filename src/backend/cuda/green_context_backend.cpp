#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "driver_api.hpp"
#include "eclip/backend/cuda.hpp"

namespace eclip::cuda {

namespace {
/// How long push_context() waits for another thread to pop the same green context before it says
/// so: captures take milliseconds to a second (docs/hardware.md), so this is a thread that forgot.
constexpr std::chrono::seconds kContextWait{30};
}  // namespace

std::string short_device_name(std::string_view full) {
  constexpr std::string_view vendor = "NVIDIA ";
  if (full.substr(0, vendor.size()) == vendor) full.remove_prefix(vendor.size());
  const std::string_view first = full.substr(0, full.find(' '));
  if (!first.empty() && std::any_of(first.begin(), first.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::string(first);
  return std::string(full);
}

unsigned hardware_connections_from_env(const char* value) {
  if (value == nullptr || *value == '\0') return kDefaultHardwareConnections;
  char* end = nullptr;
  const long n = std::strtol(value, &end, 10);
  if (*end != '\0') return kDefaultHardwareConnections;
  return static_cast<unsigned>(std::clamp<long>(n, 1, kMaxHardwareConnections));
}

Topology topology_from_split(std::string_view device_name, const std::vector<unsigned>& atom_sms,
                             unsigned remainder_sms, unsigned max_masked_streams) {
  if (atom_sms.empty())
    throw Error(Errc::invalid_argument, fmt::format("cuda: the SM split of {} gave no groups", device_name));
  Topology t;
  t.name = short_device_name(device_name);
  t.vendor = Vendor::nvidia;
  t.group_sizes = atom_sms;
  if (remainder_sms > 0) t.group_sizes.push_back(remainder_sms);
  // One masked stream per full atom: on H100, 15 green streams of 8 SMs ran fully concurrently
  // with no oversubscription effect (docs/hardware.md), and more than one per atom buys no isolation.
  t.max_masked_streams = max_masked_streams != 0 ? max_masked_streams : static_cast<unsigned>(atom_sms.size());
  for (unsigned c = 1; c < t.group_count(); c *= 2) t.size_classes.push_back(c);
  t.size_classes.push_back(t.group_count());
  const bool uniform = std::all_of(atom_sms.begin(), atom_sms.end(), [&](unsigned s) { return s == atom_sms[0]; });
  t.source = uniform ? fmt::format("cuDevSmResourceSplitByCount on {}: {} SMs = {} x {} + {}", device_name, t.units(),
                                   atom_sms.size(), atom_sms[0], remainder_sms)
                     : fmt::format("cuDevSmResourceSplitByCount on {}: {} SMs = {} + {}", device_name, t.units(),
                                   fmt::join(atom_sms, " + "), remainder_sms);
  t.validate();
  return t;
}

std::vector<unsigned> atoms_of(const Topology& topo, const CuMask& mask) {
  if (mask.device_units() != topo.units())
    throw Error(Errc::invalid_argument, fmt::format("cuda: mask {{{}}} is for a device of {} units but {} has {} SMs",
                                                    mask.to_string(), mask.device_units(), topo.name, topo.units()));
  if (mask.empty()) throw Error(Errc::invalid_argument, fmt::format("cuda: empty mask: a partition needs at least one atom"));
  std::vector<unsigned> atoms;
  for (unsigned g = 0; g < topo.group_count(); ++g) {
    const CuMask atom = topo.group_mask(g);
    const unsigned covered = (atom & mask).count();
    if (covered == 0) continue;
    if (covered != atom.count())
      throw Error(Errc::invalid_argument,
                  fmt::format("cuda: mask {{{}}} is not a union of whole atoms: atom {} (units {}) is covered {} of {} "
                              "SMs; green contexts allocate whole atoms", mask.to_string(), g, atom.to_string(), covered,
                              atom.count()));
    atoms.push_back(g);
  }
  return atoms;
}

std::string driver_unavailable_reason(const std::string& driver_library) {
  try {
    const detail::DriverApi api = detail::DriverApi::load(driver_library, Options{}.hardware_connections);
    int count = 0;
    const CUresult r = api.cuDeviceGetCount(&count);
    if (r != CUDA_SUCCESS) return fmt::format("cuDeviceGetCount failed: {}", api.describe(r));
    if (count == 0) return "cuDeviceGetCount: 0 CUDA devices";
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

std::string describe_driver_error(int result, const std::string& driver_library) {
  try {
    return detail::DriverApi::load(driver_library, Options{}.hardware_connections).describe(static_cast<CUresult>(result));
  } catch (const Error&) {
    detail::DriverApi none;
    return none.describe(static_cast<CUresult>(result));
  }
}

struct GreenContextBackend::Impl {
  detail::DriverApi cu;
  DeviceInfo info;
  CUdevice dev = 0;
  CUcontext primary = nullptr;
  Topology topo;
  std::vector<CUdevResource> atoms;  // one per topology group, from one split

  struct Entry {
    CUstream stream = nullptr;
    CUcontext context = nullptr;  // the stream's green context as a CUcontext, or the primary
    CuMask mask;
  };
  mutable std::mutex streams_mu;
  std::unordered_map<std::uint64_t, Entry> streams;
  std::vector<std::uint64_t> order;  // creation order, for reverse destruction

  /// One green context per set of atoms, made by the first stream on it and kept until the backend
  /// goes: a partition is the same CUcontext in every pool, so what a library makes per context
  /// (cuDNN's internal streams, a thread's handles) is made once per partition, not once per
  /// pool (eclip.torch.capture keeps its capture threads by partition for that reason).
  struct Green {
    CUgreenCtx green = nullptr;
    CUcontext context = nullptr;  // cuCtxFromGreenCtx, looked up once: push_context() runs on every capture
  };
  mutable std::mutex greens_mu;
  std::map<std::vector<unsigned>, Green> greens;

  /// push_context()'s green contexts, by thread: the driver lets a green context be current to one
  /// thread at a time (cuGreenCtxCreate), and streams on the same atoms share one. Kept per thread
  /// (not read back from cuCtxPopCurrent) so that a context the runtime swapped in between does not
  /// confuse the count.
  std::mutex pushed_mu;
  std::condition_variable popped_cv;  // a green context's last pop on its thread
  std::map<std::thread::id, std::vector<CUcontext>> pushed;  // each thread's pushes, in order
  std::map<CUcontext, std::pair<std::thread::id, unsigned>> holder;  // green context -> thread, depth

  std::mutex events_mu;
  std::vector<CUevent> free_events;
  std::vector<CUevent> all_events;

  /// Makes the primary context current for calls that need one (stream and event creation).
  struct PrimaryScope {
    const Impl& impl;
    explicit PrimaryScope(const Impl& i) : impl(i) { impl.cu.check(impl.cu.cuCtxPushCurrent(impl.primary), "cuCtxPushCurrent"); }
    ~PrimaryScope() {
      CUcontext popped = nullptr;
      (void)impl.cu.cuCtxPopCurrent(&popped);
    }
    PrimaryScope(const PrimaryScope&) = delete;
    PrimaryScope& operator=(const PrimaryScope&) = delete;
  };

  /// Router calls come from the workers' threads. The driver acts on the handles we pass, but a
  /// thread with no current context at all gets the primary one (never replacing the caller's).
  void ensure_context() const {
    thread_local const Impl* ready = nullptr;
    if (ready == this) return;
    CUcontext current = nullptr;
    cu.check(cu.cuCtxGetCurrent(&current), "cuCtxGetCurrent");
    if (current == nullptr) cu.check(cu.cuCtxSetCurrent(primary), "cuCtxSetCurrent");
    ready = this;
  }

  void destroy(const Entry& e) noexcept {
    (void)cu.cuStreamSynchronize(e.stream);
    (void)cu.cuStreamDestroy(e.stream);
  }

  /// The green context of `atoms`, made on first use.
  Green green_of(const std::vector<unsigned>& atom_ids) {
    std::lock_guard lock(greens_mu);
    auto it = greens.find(atom_ids);
    if (it != greens.end()) return it->second;
    std::vector<CUdevResource> resources;
    for (unsigned a : atom_ids) resources.push_back(atoms[a]);
    CUdevResourceDesc desc = nullptr;
    cu.check(cu.cuDevResourceGenerateDesc(&desc, resources.data(), static_cast<unsigned>(resources.size())),
             "cuDevResourceGenerateDesc");
    Green g;
    cu.check(cu.cuGreenCtxCreate(&g.green, desc, dev, CU_GREEN_CTX_DEFAULT_STREAM), "cuGreenCtxCreate");
    const CUresult r = cu.cuCtxFromGreenCtx(&g.context, g.green);
    if (r != CUDA_SUCCESS) {
      (void)cu.cuGreenCtxDestroy(g.green);
      cu.check(r, "cuCtxFromGreenCtx");
    }
    try {
      greens.emplace(atom_ids, g);
    } catch (...) {
      (void)cu.cuGreenCtxDestroy(g.green);
      throw;
    }
    return g;
  }
};

GreenContextBackend::GreenContextBackend(const Options& options) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  if (options.hardware_connections > kMaxHardwareConnections)
    throw Error(Errc::invalid_argument, fmt::format("cuda: {} hardware connections asked for; the driver allows 1 to {}",
                                                    options.hardware_connections, kMaxHardwareConnections));
  m.cu = detail::DriverApi::load(options.driver_library, options.hardware_connections);
  const detail::DriverApi& cu = m.cu;

  int count = 0;
  cu.check(cu.cuDeviceGetCount(&count), "cuDeviceGetCount");
  if (count == 0) throw Error(Errc::unavailable, "cuda: the driver reports 0 CUDA devices");
  if (options.device < 0 || options.device >= count)
    throw Error(Errc::invalid_argument,
                fmt::format("cuda: device {} out of range: the driver reports {} device(s)", options.device, count));
  cu.check(cu.cuDeviceGet(&m.dev, options.device), "cuDeviceGet");
  DeviceInfo& info = m.info;
  info.ordinal = options.device;
  char name[256] = {};
  cu.check(cu.cuDeviceGetName(name, static_cast<int>(sizeof name), m.dev), "cuDeviceGetName");
  info.name = name;
  cu.check(cu.cuDeviceGetAttribute(&info.cc_major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, m.dev),
           "cuDeviceGetAttribute(COMPUTE_CAPABILITY_MAJOR)");
  cu.check(cu.cuDeviceGetAttribute(&info.cc_minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, m.dev),
           "cuDeviceGetAttribute(COMPUTE_CAPABILITY_MINOR)");
  cu.check(cu.cuDriverGetVersion(&info.driver_version), "cuDriverGetVersion");

  CUdevResource all{};
  cu.check(cu.cuDeviceGetDevResource(m.dev, &all, CU_DEV_RESOURCE_TYPE_SM), "cuDeviceGetDevResource(SM)");
  info.sm_count = all.sm.smCount;
  info.min_partition_sms = all.sm.minSmPartitionSize;
  info.coscheduled_alignment = all.sm.smCoscheduledAlignment;
  const unsigned min_sms = std::max(1U, info.min_partition_sms);
  const unsigned align = std::max(1U, info.coscheduled_alignment);
  const unsigned atom = options.atom_sms != 0 ? options.atom_sms : std::max(min_sms, align);
  if (atom > info.sm_count)
    throw Error(Errc::invalid_argument, fmt::format("cuda: atoms of {} SMs asked for, but {} has {} SMs", atom,
                                                    info.name, info.sm_count));
  if (atom < min_sms || atom % align != 0)
    throw Error(Errc::invalid_argument,
                fmt::format("cuda: {} cannot split into atoms of {} SMs: partitions need at least {} SMs in "
                            "multiples of {} (CUdevSmResource minSmPartitionSize, smCoscheduledAlignment)",
                            info.name, atom, min_sms, align));
  info.atom_sms = atom;

  // What the driver read when it started: ours when this backend started it, else the
  // environment's then, which is what it says now unless someone changed it since.
  info.hardware_connections = hardware_connections_from_env(std::getenv("CUDA_DEVICE_MAX_CONNECTIONS"));

  // The primary context stays retained for the backend's life: green contexts are created against
  // it (cuGreenCtxCreate advises an active primary context), plain streams and events live in it.
  cu.check(cu.cuDevicePrimaryCtxRetain(&m.primary, m.dev), "cuDevicePrimaryCtxRetain");
  try {
    unsigned groups = 0;
    cu.check(cu.cuDevSmResourceSplitByCount(nullptr, &groups, &all, nullptr, 0, atom),
             "cuDevSmResourceSplitByCount(query)");
    if (groups == 0)
      throw Error(Errc::invalid_argument,
                  fmt::format("cuda: {} ({} SMs) gives no group of {} SMs", info.name, info.sm_count, atom));
    std::vector<CUdevResource> split(groups);
    CUdevResource remainder{};
    cu.check(cu.cuDevSmResourceSplitByCount(split.data(), &groups, &all, &remainder, 0, atom),
             "cuDevSmResourceSplitByCount");
    split.resize(groups);
    std::vector<unsigned> sizes;
    for (const CUdevResource& r : split) sizes.push_back(r.sm.smCount);
    if (options.atom_sms != 0 && std::any_of(sizes.begin(), sizes.end(), [&](unsigned s) { return s != atom; }))
      throw Error(Errc::invalid_argument,
                  fmt::format("cuda: atoms of {} SMs asked for, but {} split into groups of {} SMs", atom, info.name,
                              fmt::join(sizes, "/")));
    const unsigned rest = remainder.type == CU_DEV_RESOURCE_TYPE_SM ? remainder.sm.smCount : 0;
    m.atoms = std::move(split);
    if (rest > 0) m.atoms.push_back(remainder);
    m.topo = topology_from_split(info.name, sizes, rest, options.max_masked_streams);
    m.topo.source += fmt::format(", driver {}.{}", info.driver_version / 1000, info.driver_version % 1000 / 10);
  } catch (...) {
    (void)cu.cuDevicePrimaryCtxRelease(m.dev);
    throw;
  }
}

GreenContextBackend::~GreenContextBackend() {
  Impl& m = *impl_;
  {
    std::lock_guard lock(m.streams_mu);
    for (auto it = m.order.rbegin(); it != m.order.rend(); ++it) {
      auto e = m.streams.find(*it);
      if (e != m.streams.end()) m.destroy(e->second);
    }
    m.streams.clear();
  }
  for (auto& [atom_ids, g] : m.greens) (void)m.cu.cuGreenCtxDestroy(g.green);  // their streams are gone
  for (CUevent e : m.all_events) (void)m.cu.cuEventDestroy(e);
  (void)m.cu.cuDevicePrimaryCtxRelease(m.dev);
}

const Topology& GreenContextBackend::topology() const noexcept { return impl_->topo; }
const DeviceInfo& GreenContextBackend::device() const noexcept { return impl_->info; }

StreamHandle GreenContextBackend::create_stream(const CuMask& mask) {
  Impl& m = *impl_;
  const detail::DriverApi& cu = m.cu;
  Impl::Entry e;
  e.mask = mask;
  if (mask.device_units() == m.topo.units() && mask.full()) {
    Impl::PrimaryScope scope(m);
    cu.check(cu.cuStreamCreate(&e.stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
    e.context = m.primary;
  } else {
    const Impl::Green g = m.green_of(atoms_of(m.topo, mask));
    cu.check(cu.cuGreenCtxStreamCreate(&e.stream, g.green, CU_STREAM_NON_BLOCKING, 0), "cuGreenCtxStreamCreate");
    e.context = g.context;
  }
  const auto key = reinterpret_cast<std::uint64_t>(e.stream);
  std::lock_guard lock(m.streams_mu);
  try {
    m.order.push_back(key);
    try {
      m.streams.emplace(key, e);
    } catch (...) {
      m.order.pop_back();
      throw;
    }
  } catch (...) {  // out of memory: do not leak the stream and its green context
    m.destroy(e);
    throw;
  }
  return StreamHandle{key};
}

void GreenContextBackend::destroy_stream(StreamHandle stream) noexcept {
  Impl& m = *impl_;
  Impl::Entry e;
  {
    std::lock_guard lock(m.streams_mu);
    auto it = m.streams.find(stream.value);
    if (it == m.streams.end()) return;
    e = it->second;
    m.streams.erase(it);
    m.order.erase(std::find(m.order.begin(), m.order.end(), stream.value));
  }
  m.destroy(e);
}

MarkerHandle GreenContextBackend::record_marker(StreamHandle stream) {
  Impl& m = *impl_;
  m.ensure_context();
  CUevent ev = nullptr;
  {
    std::lock_guard lock(m.events_mu);
    if (!m.free_events.empty()) {
      ev = m.free_events.back();
      m.free_events.pop_back();
    }
  }
  if (ev == nullptr) {
    {
      Impl::PrimaryScope scope(m);
      m.cu.check(m.cu.cuEventCreate(&ev, CU_EVENT_DISABLE_TIMING), "cuEventCreate");
    }
    std::lock_guard lock(m.events_mu);
    m.all_events.push_back(ev);
  }
  const CUresult r = m.cu.cuEventRecord(ev, reinterpret_cast<CUstream>(stream.value));
  if (r != CUDA_SUCCESS) {
    release_marker(MarkerHandle{reinterpret_cast<std::uint64_t>(ev)});
    m.cu.check(r, "cuEventRecord");
  }
  return MarkerHandle{reinterpret_cast<std::uint64_t>(ev)};
}

bool GreenContextBackend::marker_done(MarkerHandle marker) {
  const CUresult r = impl_->cu.cuEventQuery(reinterpret_cast<CUevent>(marker.value));
  if (r == CUDA_SUCCESS) return true;
  if (r == CUDA_ERROR_NOT_READY) return false;
  impl_->cu.check(r, "cuEventQuery");
  return false;
}

void GreenContextBackend::wait_marker(StreamHandle stream, MarkerHandle marker) {
  impl_->cu.check(
      impl_->cu.cuStreamWaitEvent(reinterpret_cast<CUstream>(stream.value), reinterpret_cast<CUevent>(marker.value), 0),
      "cuStreamWaitEvent");
}

void GreenContextBackend::release_marker(MarkerHandle marker) noexcept {
  // A wait already enqueued captured the event's record, so the event may be re-recorded at once.
  Impl& m = *impl_;
  try {
    std::lock_guard lock(m.events_mu);
    m.free_events.push_back(reinterpret_cast<CUevent>(marker.value));
  } catch (...) {
    // Out of memory growing the free list: the event stays in all_events and is destroyed later.
  }
}

void GreenContextBackend::remask_stream(StreamHandle, const CuMask& mask) {
  throw Error(Errc::unavailable,
              fmt::format("cuda: cannot remask a stream to {{{}}}: a green context's SMs are fixed at creation; create a "
                          "partition per mask up front (PartitionPool)", mask.to_string()));
}

unsigned GreenContextBackend::live_streams() const {
  std::lock_guard lock(impl_->streams_mu);
  return static_cast<unsigned>(impl_->streams.size());
}

unsigned GreenContextBackend::green_contexts() const {
  std::lock_guard lock(impl_->greens_mu);
  return static_cast<unsigned>(impl_->greens.size());
}

CuMask GreenContextBackend::mask_of(StreamHandle stream) const {
  std::lock_guard lock(impl_->streams_mu);
  auto it = impl_->streams.find(stream.value);
  if (it == impl_->streams.end())
    throw Error(Errc::invalid_argument, fmt::format("cuda: stream {:#x} was not created by this backend", stream.value));
  return it->second.mask;
}

void GreenContextBackend::synchronize(StreamHandle stream) {
  impl_->cu.check(impl_->cu.cuStreamSynchronize(reinterpret_cast<CUstream>(stream.value)), "cuStreamSynchronize");
}

void GreenContextBackend::launch_graph(StreamHandle stream, std::uint64_t graph_exec) {
  // A worker thread's first call may come before any switch made its context current.
  impl_->ensure_context();
  impl_->cu.check(impl_->cu.cuGraphLaunch(reinterpret_cast<CUgraphExec>(graph_exec), reinterpret_cast<CUstream>(stream.value)),
                  "cuGraphLaunch");
}

void GreenContextBackend::launch_function(StreamHandle stream, CUfunction function, dim3 grid, dim3 block,
                                          unsigned shared_bytes, void** args, void** extra) {
  impl_->ensure_context();
  impl_->cu.check(impl_->cu.cuLaunchKernel(function, grid.x, grid.y, grid.z, block.x, block.y, block.z, shared_bytes,
                                           reinterpret_cast<CUstream>(stream.value), args, extra),
                  "cuLaunchKernel");
}

CUcontext GreenContextBackend::context_of(StreamHandle stream) const {
  std::lock_guard lock(impl_->streams_mu);
  auto it = impl_->streams.find(stream.value);
  if (it == impl_->streams.end())
    throw Error(Errc::invalid_argument, fmt::format("cuda: stream {:#x} was not created by this backend", stream.value));
  return it->second.context;
}

void GreenContextBackend::push_context(StreamHandle stream) {
  Impl& m = *impl_;
  const CUcontext ctx = context_of(stream);
  const std::thread::id me = std::this_thread::get_id();
  std::unique_lock lock(m.pushed_mu);
  if (ctx != m.primary) {
    const auto free_here = [&] {
      auto it = m.holder.find(ctx);
      return it == m.holder.end() || it->second.first == me;
    };
    if (!m.popped_cv.wait_for(lock, kContextWait, free_here))
      throw Error(Errc::invalid_argument,
                  fmt::format("cuda: the green context of stream {:#x} (SMs {{{}}}) stayed current on another thread "
                              "for {} s: a green context can be current to one thread at a time (cuGreenCtxCreate), "
                              "streams on the same SMs share one, and a push waits for the other thread's pop",
                              stream.value, mask_of(stream).to_string(), kContextWait.count()));
  }
  m.cu.check(m.cu.cuCtxPushCurrent(ctx), "cuCtxPushCurrent");
  m.pushed[me].push_back(ctx);
  if (ctx != m.primary) {
    auto& h = m.holder[ctx];
    h.first = me;
    ++h.second;
  }
}

void GreenContextBackend::pop_context() {
  Impl& m = *impl_;
  {  // released even if the driver's pop fails: this thread gave it up either way
    std::lock_guard lock(m.pushed_mu);
    auto mine = m.pushed.find(std::this_thread::get_id());
    if (mine != m.pushed.end()) {  // else not one of push_context()'s
      const CUcontext ctx = mine->second.back();
      mine->second.pop_back();
      if (mine->second.empty()) m.pushed.erase(mine);
      auto it = m.holder.find(ctx);
      if (it != m.holder.end() && --it->second.second == 0) {
        m.holder.erase(it);
        m.popped_cv.notify_all();
      }
    }
  }
  CUcontext popped = nullptr;
  m.cu.check(m.cu.cuCtxPopCurrent(&popped), "cuCtxPopCurrent");
}

}  // namespace eclip::cuda
