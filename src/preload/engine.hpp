#pragma once
// The vendor-neutral core of the preload interposers (docs/transparent.md). What is specific to
// transparent mode lives here: which worker a launch belongs to, its position in the worker's
// request (matching launched kernels to the plan by name or by count), whole-device kernels and
// unplanned ones staying on the application's stream, capture passing through, and joins before
// non-kernel operations on an application stream. Where a position runs, the order across streams,
// the counters and the trace are the library's: eclip::KernelRouter::route_on on one
// eclip::OrderedLane per application stream (ordered_lane.hpp states the rule and why it needs no
// lock while a launch stays on the lane's stream), counted by the router, traced by
// eclip::TraceObserver (ECLIP_TRACE).
//
// Launch path, when nothing switches: a lock-free lookup of the application stream's lane, a
// lock-free lookup of the kernel's plan positions (names), a compare-exchange on the worker's
// cursor, and the lane's two atomic increments; no mutex.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "eclip/runtime/backend.hpp"
#include "eclip/runtime/kernel_router.hpp"
#include "eclip/runtime/ordered_lane.hpp"
#include "eclip/runtime/partition_pool.hpp"
#include "eclip/runtime/trace_observer.hpp"
#include "eclip/plan/plan.hpp"
#include "eclip/eclip_c.h"
#include "insert_only_table.hpp"

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

  struct Launch {
    std::uint64_t app = 0;        ///< the stream the application asked for
    std::uint64_t target = 0;     ///< where to launch
    OrderedLane* lane = nullptr;  ///< entered until end_launch (null: passed through)
    unsigned worker = 0;
  };

  /// Decides where the launch goes and orders it; the caller launches on .target and then calls
  /// end_launch. Never throws; on any eclip failure the launch goes where the app stream's work is.
  /// `entry`: the API entry point (for the trace; a string literal).
  Launch begin_launch(std::uint64_t app_stream, const KernelRef& kernel = {}, const char* entry = nullptr) noexcept;
  void end_launch(Launch& l, bool launched) noexcept;
  /// ECLIP_STATS=1: the front end times its begin_launch and end_launch calls and adds them here.
  bool timing() const noexcept { return timing_; }
  void add_time(const Launch& l, std::uint64_t ns) noexcept;

  /// Held while a non-kernel operation on an application stream is issued: the stream's lane is
  /// home (the operation comes after the stream's routed work) and stays there until the operation
  /// is enqueued; eclip's own guard is up meanwhile, so calls the runtime makes inside pass through.
  class Joined {
   public:
    Joined() noexcept = default;
    explicit Joined(OrderedLane* lane) noexcept;
    ~Joined();
    Joined(const Joined&) = delete;
    Joined& operator=(const Joined&) = delete;

   private:
    OrderedLane* lane_ = nullptr;
  };
  /// Before a non-kernel operation on `app_stream`: it waits for the stream's routed work. Keep the
  /// result alive while issuing the operation (a blocking call may drop it first).
  [[nodiscard]] Joined join(std::uint64_t app_stream) noexcept;
  /// The application destroys `app_stream`: join. (Its lane stays: a handle may be reused by a
  /// later stream, whose lane is then home, as a new stream's is.)
  void forget(std::uint64_t app_stream) noexcept;

  /// ECLIP_TRACE=path: a Perfetto trace of every launch (eclip::TraceObserver).
  bool tracing() const noexcept { return trace_ != nullptr; }
  /// Writes the trace's closing bracket (at exit); later launches are not traced.
  void close_trace() noexcept;

  void begin_request(unsigned worker) noexcept;
  unsigned workers() const noexcept { return static_cast<unsigned>(workers_.size()); }
  bool counters(std::int32_t worker, eclip_preload_counters* out) const noexcept;

  ~Engine();

 private:
  /// A kernel as a worker's named plan sees it: its name (null: the runtime has none) and the plan
  /// positions whose name matches, ascending.
  struct KernelIndex {
    std::uint64_t key = 0;
    const std::string* name = nullptr;
    std::vector<std::uint32_t> positions;
  };
  struct IndexKey {
    std::uint64_t operator()(const KernelIndex& k) const noexcept { return k.key; }
  };
  struct KernelName {
    std::uint64_t key = 0;
    std::string name;  ///< "": the runtime could not name it
  };
  struct NameKey {
    std::uint64_t operator()(const KernelName& k) const noexcept { return k.key; }
  };
  struct LaneKey {
    std::uint64_t operator()(const OrderedLane& l) const noexcept { return l.home().value; }
  };
  /// Per worker: what matching launches to plan positions needs (the rest is the router's).
  struct alignas(64) WorkerMatch {
    std::vector<std::string> names;              ///< plan kernel names, whitespace removed (may be empty)
    std::atomic<std::uint32_t> cursor{0};        ///< next plan position (advanced by compare-exchange)
    std::atomic<bool> in_request{false};         ///< a launch of the current request was placed
    std::atomic<std::uint64_t> skipped{0}, eclip_ns{0};
    std::atomic<bool> ran_past{false}, said_nomatch{false}, said_noname{false}, said_full{false};
    InsertOnlyTable<KernelIndex, IndexKey> index{8192};  ///< kernel key -> entry, never erased
  };

  Engine(const VendorHooks& vendor, std::unique_ptr<Backend> backend, Plan plan, bool eager, bool count_requests,
         std::unique_ptr<TraceObserver> trace);
  static Engine* create(const VendorHooks& vendor);
  /// The kernel's name from the cache, looked up on first sight; null when the front end has none.
  const std::string* kernel_name(const KernelRef& k) noexcept;
  /// Kernel `k`'s entry for `wm`, built on its first launch (name lookup, index over the plan's
  /// names). Null when there is no key or the table is full.
  const KernelIndex* index_of(WorkerMatch& wm, const KernelRef& k) noexcept;
  /// The plan position of worker `w`'s launch of `kernel` (RouteDecision::kNoPosition: none), the
  /// cursor advanced and a new request begun where one starts. `name` receives the kernel's name
  /// when it was looked up.
  std::uint32_t position(unsigned w, const KernelRef& kernel, const std::string** name) noexcept;
  OrderedLane* lane_of(std::uint64_t stream) noexcept;

  const VendorHooks& vendor_;
  std::unique_ptr<Backend> backend_;
  Plan plan_;
  std::unique_ptr<TraceObserver> trace_;  ///< before router_: the router reports to it
  std::unique_ptr<PartitionPool> pool_;
  std::unique_ptr<KernelRouter> router_;
  bool eager_;
  bool count_requests_;
  bool match_names_ = true;  ///< ECLIP_MATCH=names (default when the plan names kernels)
  bool timing_ = false;      ///< ECLIP_STATS: time eclip's own share of every launch
  std::vector<std::unique_ptr<WorkerMatch>> workers_;
  std::atomic<std::uint64_t> unknown_launches_{0}, unknown_captured_{0};  ///< workers the plan lacks
  InsertOnlyTable<OrderedLane, LaneKey> lanes_{4096};                     ///< app stream -> lane
  InsertOnlyTable<KernelName, NameKey> kernel_names_{16384};              ///< kernel key -> name
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
/// and times it when asked. `ok` is the vendor's success code. Without an engine (no plan) or
/// inside eclip's own calls, `issue(app)` runs as the application asked.
template <class R, class F>
R route_launch(std::uint64_t app, R ok, const char* entry, const KernelRef& kernel, F&& issue) {
  if (InsideGuard::active()) return issue(app);
  Engine* e = Engine::get();
  if (!e) return issue(app);
  const bool timed = e->timing();
  const auto t0 = timed ? Clock::now() : Clock::time_point{};
  Engine::Launch l = e->begin_launch(app, kernel, entry);
  const auto t1 = timed ? Clock::now() : Clock::time_point{};
  R r;
  {
    InsideGuard guard;
    r = issue(l.target);
  }
  const auto t2 = timed ? Clock::now() : Clock::time_point{};
  e->end_launch(l, r == ok);
  if (timed) e->add_time(l, elapsed_ns(t0, t1) + elapsed_ns(t2, Clock::now()));
  return r;
}

}  // namespace eclip::preload
