#pragma once
// The vendor-neutral core of the preload interposers (docs/transparent.md): which worker a launch
// belongs to, its position in the worker's request, the planned partition stream, and the order of
// every application stream kept across the streams its kernels are moved to.
//
// Order (per application stream S, "tail" = the stream holding S's latest work):
//   kernel planned on partition P: if tail(S) != P, record a marker on tail(S) and make P wait on
//     it unless it has already completed; launch on P; tail(S) = P (lazy join) or, with
//     ECLIP_JOIN=eager, record a marker on P and make S wait on it at once (tail(S) = S).
//   kernel planned on the whole device, not in the plan, or captured: the same with P = S.
//   any other operation on S (copy, memset, event record, stream wait, sync, query, callback,
//     graph launch, capture begin, destroy): join() first, so S waits on tail(S) (tail(S) = S).
// A launch holds S's state locked from routing to the real launch call, so two threads launching
// into one S keep one order.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "eclip/runtime/backend.hpp"
#include "eclip/runtime/partition_pool.hpp"
#include "eclip/plan/plan.hpp"
#include "eclip/eclip_c.h"

namespace eclip::preload {

/// What a vendor front end (hip_preload.cpp, cuda_preload.cpp) supplies.
struct VendorHooks {
  const char* name = "";  ///< "hip" / "cuda", for messages
  /// Creates the partition backend for a plan made for `device` (the plan's "device" field or
  /// ECLIP_DEVICE). Returns null with *why set when it cannot (no device, wrong device, ...).
  std::unique_ptr<Backend> (*make_backend)(const std::string& device, std::string* why) = nullptr;
  /// True when `stream` is being captured into a graph (its launches pass through).
  bool (*capturing)(std::uint64_t stream) = nullptr;
  /// ECLIP_JOIN default: true = eager (the vendor cannot see every non-kernel stream operation).
  bool eager_default = false;
  /// ECLIP_TRACE only: how a stream is named in the trace (e.g. "id=12 sms=64"); called once per
  /// stream. Null: the handle in hex.
  std::string (*describe_stream)(std::uint64_t stream) = nullptr;
};

/// The front end registers its vendor when the library loads (a static initializer).
void register_vendor(const VendorHooks* vendor) noexcept;

/// Says `text` on stderr once per key ("eclip-preload: ..."). ECLIP_QUIET=1 silences it.
void say_once(const std::string& key, const std::string& text);

/// What a front end knows about a launch's kernel: a key stable per kernel (function handle or
/// host address) and how to name it (demangled). Used when the plan names its kernels, and for
/// ECLIP_TRACE; the name is looked up once per key.
struct KernelRef {
  std::uint64_t key = 0;
  std::string (*name)(std::uint64_t key) = nullptr;  ///< empty string: the runtime could not name it
};

/// A readable kernel name: `symbol` demangled when it is a C++ name; empty for null (no name).
std::string demangled(const char* symbol);

/// A plan name (whitespace removed) matches a launched kernel whose name, whitespace removed,
/// starts with it: profiles may truncate names; an empty plan name matches anything.
bool name_matches(const std::string& planned, const std::string& launched) noexcept;

class Engine {
 public:
  /// The process's engine for the registered vendor, created on first use from the environment; null when
  /// launches pass through (the reason was said once).
  static Engine* get();
  /// The engine if one was created and is active (null otherwise); never creates one.
  static Engine* current() noexcept;

  struct StreamState {
    std::mutex mutex;
    std::uint64_t tail = 0;  ///< stream that holds the app stream's latest work
  };
  struct Launch {
    std::uint64_t app = 0;     ///< the stream the application asked for
    std::uint64_t target = 0;  ///< where to launch
    StreamState* state = nullptr;  ///< locked while the launch is in flight (null: pass through)
    unsigned worker = 0;
    std::int64_t position = -1;    ///< kernel index in the worker's request (-1: none, e.g. captured)
    std::uint64_t request = 0;     ///< the worker's request number (1 = first)
    unsigned planned_units = 0;    ///< units of the partition the plan gives this kernel (0: none)
    const std::string* kernel = nullptr;  ///< the kernel's name, when it was looked up
  };

  /// Decides where the launch goes and orders it; the caller launches on .target and then calls
  /// end_launch. Never throws; on any eclip failure the launch goes to the app stream in order.
  Launch begin_launch(std::uint64_t app_stream, const KernelRef& kernel = {}) noexcept;
  void end_launch(Launch& l, bool launched) noexcept;
  /// ECLIP_STATS=1: the front end times its begin_launch and end_launch calls and adds them here.
  bool timing() const noexcept { return timing_; }
  void add_time(const Launch& l, std::uint64_t ns) noexcept;
  /// Before a non-kernel operation on `app_stream`: it waits for the stream's routed work.
  void join(std::uint64_t app_stream) noexcept;
  /// The application destroys `app_stream`: join, then drop its state.
  void forget(std::uint64_t app_stream) noexcept;

  /// ECLIP_TRACE=path: one line per launch (worker, request, position, planned units, app stream,
  /// stream launched on, entry point, kernel name). The front end asks tracing() before looking up
  /// a kernel's name, which costs a runtime call.
  bool tracing() const noexcept { return trace_ != nullptr; }
  /// The kernel's name from the cache, looked up on first sight; null when the front end has none.
  const std::string* kernel_name(const KernelRef& k) noexcept;
  void trace(const Launch& l, const char* entry, const char* kernel) noexcept;

  void begin_request(unsigned worker) noexcept;
  unsigned workers() const noexcept { return static_cast<unsigned>(workers_.size()); }
  bool counters(std::int32_t worker, eclip_preload_counters* out) const noexcept;

  ~Engine();

 private:
  struct alignas(64) WorkerState {
    struct Placement {
      std::uint64_t stream;  ///< kAppStream = stay on the app stream (whole device)
      std::uint32_t units;   ///< the stream's units (for the trace)
    };
    std::vector<Placement> placement;             ///< per plan position
    std::vector<std::string> names;               ///< plan kernel names, whitespace removed (may be empty)
    std::atomic<std::uint32_t> cursor{0};         ///< next plan position (advanced by compare-exchange)
    std::atomic<bool> in_request{false};          ///< a launch of the current request was placed
    std::atomic<std::uint64_t> launches{0}, routed{0}, kept{0}, unplanned{0}, captured{0}, switches{0},
        barriers{0}, joins{0}, requests{0}, skipped{0}, eclip_ns{0};
    std::atomic<bool> ran_past{false}, said_nomatch{false}, said_noname{false};
    /// A kernel as this worker's named plan sees it: its name (null: the runtime has none) and the
    /// plan positions whose name matches, ascending.
    struct KernelIndex {
      const std::string* name = nullptr;
      std::vector<std::uint32_t> positions;
    };
    std::mutex index_mutex;
    std::unordered_map<std::uint64_t, KernelIndex> index;  ///< kernel key -> entry, never erased
  };

  Engine(const VendorHooks& vendor, std::unique_ptr<Backend> backend, Plan plan, bool eager, bool count_requests);
  static Engine* create(const VendorHooks& vendor);
  void open_trace(const char* pattern);
  /// Kernel `k`'s entry for `ws`, built on its first launch (name lookup, index over the plan's
  /// names), so matching a launch costs one lock, one hash lookup and a binary search. Null when
  /// there is no key or memory ran out.
  const WorkerState::KernelIndex* index_of(WorkerState& ws, const KernelRef& k) noexcept;
  StreamState* state_of(std::uint64_t stream, bool create);
  /// Makes `to` wait for everything on `from` (skipped when already complete unless `always`).
  /// Returns false if a backend call failed.
  bool order(std::uint64_t from, std::uint64_t to, bool always, WorkerState* ws) noexcept;
  WorkerState* worker_state(unsigned w) noexcept { return w < workers_.size() ? workers_[w].get() : nullptr; }

  const VendorHooks& vendor_;
  std::unique_ptr<Backend> backend_;
  Plan plan_;
  std::unique_ptr<PartitionPool> pool_;
  bool eager_;
  bool count_requests_;
  std::vector<std::unique_ptr<WorkerState>> workers_;
  WorkerState unknown_;  ///< counters of launches by workers the plan lacks
  std::mutex map_mutex_;
  std::unordered_map<std::uint64_t, std::unique_ptr<StreamState>> streams_;
  std::atomic<int> diverted_{0};  ///< app streams whose tail is another stream (lazy join)
  bool match_names_ = true;        ///< ECLIP_MATCH=names (default when the plan names kernels)
  bool timing_ = false;            ///< ECLIP_STATS: time eclip's own share of every launch
  std::shared_mutex names_mutex_;
  std::unordered_map<std::uint64_t, std::string> kernel_names_;  ///< key -> name, never erased
  std::FILE* trace_ = nullptr;     ///< ECLIP_TRACE, open for the process's life
  std::mutex trace_mutex_;
  std::unordered_map<std::uint64_t, std::string> stream_names_;  ///< guarded by trace_mutex_
};

using Clock = std::chrono::steady_clock;
inline std::uint64_t elapsed_ns(Clock::time_point a, Clock::time_point b) {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
}

/// The calling thread's worker (eclip_set_worker, else ECLIP_WORKER, else 0).
unsigned current_worker() noexcept;
/// eclip_set_worker (c_entry.cpp): the calling thread's worker, or -1 for ECLIP_WORKER's.
void set_current_worker(int worker) noexcept;

/// Set while eclip itself calls the vendor runtime, so interposed entry points pass through.
struct InsideGuard {
  InsideGuard() noexcept;
  ~InsideGuard();
  InsideGuard(const InsideGuard&) = delete;
  InsideGuard& operator=(const InsideGuard&) = delete;
  static bool active() noexcept;
};

/// One intercepted launch, for either front end: decides with the engine, issues it with
/// `issue(target_stream)` (inside the guard, so the vendor's nested calls pass through), orders it,
/// and times and traces it when asked. `ok` is the vendor's success code. Without an engine (no
/// plan) or inside eclip's own calls, `issue(app)` runs as the application asked.
template <class R, class F>
R route_launch(std::uint64_t app, R ok, const char* entry, const KernelRef& kernel, F&& issue) {
  if (InsideGuard::active()) return issue(app);
  Engine* e = Engine::get();
  if (!e) return issue(app);
  const bool timed = e->timing();
  const auto t0 = timed ? Clock::now() : Clock::time_point{};
  Engine::Launch l = e->begin_launch(app, kernel);
  const auto t1 = timed ? Clock::now() : Clock::time_point{};
  R r;
  {
    InsideGuard guard;
    r = issue(l.target);
  }
  const auto t2 = timed ? Clock::now() : Clock::time_point{};
  e->end_launch(l, r == ok);
  if (timed) e->add_time(l, elapsed_ns(t0, t1) + elapsed_ns(t2, Clock::now()));
  if (e->tracing()) {
    const std::string* name = l.kernel ? l.kernel : e->kernel_name(kernel);
    e->trace(l, entry, name ? name->c_str() : "?");
  }
  return r;
}

}  // namespace eclip::preload
