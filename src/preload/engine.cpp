#include "engine.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cxxabi.h>
#include <cstring>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace eclip::preload {
namespace {

thread_local int tl_worker = -1;
thread_local int tl_inside = 0;

const VendorHooks* g_vendor = nullptr;
std::once_flag g_once;
std::atomic<Engine*> g_engine{nullptr};

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

bool parse_uint(const char* text, unsigned* out) {
  if (!text || !*text) return false;
  unsigned long v = 0;
  for (const char* p = text; *p; ++p) {
    if (!std::isdigit(static_cast<unsigned char>(*p))) return false;
    v = v * 10 + static_cast<unsigned long>(*p - '0');
    if (v > 1000000) return false;
  }
  *out = static_cast<unsigned>(v);
  return true;
}

unsigned env_worker() {
  static const unsigned w = [] {
    unsigned v = 0;
    if (const char* e = env("ECLIP_WORKER"); e && !parse_uint(e, &v)) {
      say_once("ECLIP_WORKER", fmt::format("ECLIP_WORKER=\"{}\" is not a worker number; using worker 0", e));
      v = 0;
    }
    return v;
  }();
  return w;
}

void close_trace_at_exit() {
  // The trace file ends with its closing bracket even though the engine is never destroyed.
  if (Engine* e = Engine::current()) e->close_trace();
}

void print_stats() {
  Engine* e = Engine::current();
  if (!e) return;
  for (std::int32_t w = 0; w < static_cast<std::int32_t>(e->workers()); ++w) {
    eclip_preload_counters c{};
    if (!e->counters(w, &c)) continue;
    std::fprintf(stderr,
                 "eclip-preload: worker %d: %llu launches, %llu routed, %llu kept on the app stream, %llu unplanned, "
                 "%llu captured, %llu switches, %llu barriers, %llu joins, %llu requests, %llu plan positions skipped, "
                 "%.0f ns in eclip per launch\n",
                 static_cast<int>(w), static_cast<unsigned long long>(c.launches),
                 static_cast<unsigned long long>(c.routed), static_cast<unsigned long long>(c.kept),
                 static_cast<unsigned long long>(c.unplanned), static_cast<unsigned long long>(c.captured),
                 static_cast<unsigned long long>(c.switches), static_cast<unsigned long long>(c.barriers),
                 static_cast<unsigned long long>(c.joins), static_cast<unsigned long long>(c.requests),
                 static_cast<unsigned long long>(c.skipped),
                 c.launches ? static_cast<double>(c.eclip_ns) / static_cast<double>(c.launches) : 0.0);
  }
}

}  // namespace

void register_vendor(const VendorHooks* vendor) noexcept { g_vendor = vendor; }

void say_once(const std::string& key, const std::string& text) {
  static std::mutex mutex;
  static std::set<std::string>* said = new std::set<std::string>;  // leaked: usable during exit
  std::lock_guard lock(mutex);
  if (!said->insert(key).second) return;
  if (env("ECLIP_QUIET") && std::string(env("ECLIP_QUIET")) != "0") return;
  std::fprintf(stderr, "eclip-preload: %s\n", text.c_str());
}

InsideGuard::InsideGuard() noexcept { ++tl_inside; }
InsideGuard::~InsideGuard() { --tl_inside; }
bool InsideGuard::active() noexcept { return tl_inside != 0; }

unsigned current_worker() noexcept { return tl_worker >= 0 ? static_cast<unsigned>(tl_worker) : env_worker(); }
void set_current_worker(int worker) noexcept { tl_worker = worker; }

Engine* Engine::current() noexcept { return g_engine.load(std::memory_order_acquire); }

Engine* Engine::get() {
  if (Engine* e = g_engine.load(std::memory_order_acquire)) return e;
  std::call_once(g_once, [] {
    if (!g_vendor) return;
    InsideGuard guard;
    g_engine.store(create(*g_vendor), std::memory_order_release);
  });
  return g_engine.load(std::memory_order_acquire);
}


Engine* Engine::create(const VendorHooks& vendor) {
  const char* path = env("ECLIP_PLAN");
  if (env("ECLIP_PRELOAD_DISABLE") && std::string(env("ECLIP_PRELOAD_DISABLE")) != "0") {
    say_once("why", "ECLIP_PRELOAD_DISABLE is set: every launch passes through unchanged");
    return nullptr;
  }
  if (!path) {
    say_once("why", "ECLIP_PLAN is not set: every launch passes through unchanged");
    return nullptr;
  }
  try {
    std::ifstream in(path);
    if (!in) {
      say_once("why", fmt::format("cannot read ECLIP_PLAN={}: every launch passes through unchanged", path));
      return nullptr;
    }
    std::stringstream text;
    text << in.rdbuf();
    const nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      say_once("why", fmt::format("ECLIP_PLAN={} is not valid JSON: every launch passes through unchanged", path));
      return nullptr;
    }
    std::string device;
    if (const char* d = env("ECLIP_DEVICE")) device = d;
    else if (auto it = j.find("device"); it != j.end() && it->is_string()) device = it->get<std::string>();
    std::string why;
    std::unique_ptr<Backend> backend = vendor.make_backend(device, &why);
    if (!backend) {
      say_once("why", fmt::format("no {} partition backend for plan {} ({}): every launch passes through unchanged",
                                  vendor.name, path, why));
      return nullptr;
    }
    Plan plan = Plan::from_json(j, backend->topology());
    bool eager = vendor.eager_default;
    if (const char* jm = env("ECLIP_JOIN")) {
      const std::string m = jm;
      if (m == "eager") eager = true;
      else if (m == "lazy") eager = false;
      else say_once("ECLIP_JOIN", fmt::format("ECLIP_JOIN=\"{}\" is neither lazy nor eager; using {}", m,
                                              eager ? "eager" : "lazy"));
    }
    bool count = true;
    if (const char* rm = env("ECLIP_REQUEST")) {
      const std::string m = rm;
      if (m == "api") count = false;
      else if (m != "count")
        say_once("ECLIP_REQUEST", fmt::format("ECLIP_REQUEST=\"{}\" is neither count nor api; using count", m));
    }
    std::unique_ptr<TraceObserver> trace;
    if (const char* t = env("ECLIP_TRACE")) {
      std::string file = t;  // "%p" becomes the process id (one file per process under MPS)
      for (auto at = file.find("%p"); at != std::string::npos; at = file.find("%p"))
        file.replace(at, 2, std::to_string(::getpid()));
      TraceObserver::Options o;
      o.write_in_place = true;    // a process that is killed still leaves its trace
      o.flush_each_event = true;  // ... with every event it traced
      o.process_name = fmt::format("eclip-preload ({}) pid {}", vendor.name, ::getpid());
      if (vendor.describe_stream)
        o.describe_stream = [&vendor](StreamHandle s) {
          InsideGuard guard;
          return vendor.describe_stream(s.value);
        };
      try {
        trace = std::make_unique<TraceObserver>(file, std::move(o));
      } catch (const std::exception& ex) {
        say_once("trace", fmt::format("cannot trace to ECLIP_TRACE={}: {}; not tracing", t, ex.what()));
      }
    }
    const bool traced = trace != nullptr;
    auto* e = new Engine(vendor, std::move(backend), std::move(plan), eager, count, std::move(trace));  // lives until exit
    if (traced) std::atexit(close_trace_at_exit);
    if (env("ECLIP_STATS")) {
      e->timing_ = true;
      std::atexit(print_stats);
    }
    if (env("ECLIP_VERBOSE"))
      say_once("plan", fmt::format("routing by {} ({} workers on {}, {} join, requests by {})", path, e->workers(),
                                   e->backend_->topology().name, eager ? "eager" : "lazy", count ? "count" : "api"));
    return e;
  } catch (const std::exception& ex) {
    say_once("why", fmt::format("cannot use plan {}: {}: every launch passes through unchanged", path, ex.what()));
    return nullptr;
  }
}

Engine::Engine(const VendorHooks& vendor, std::unique_ptr<Backend> backend, Plan plan, bool eager, bool count_requests,
               std::unique_ptr<TraceObserver> trace)
    : vendor_(vendor), backend_(std::move(backend)), plan_(std::move(plan)), trace_(std::move(trace)), eager_(eager),
      count_requests_(count_requests) {
  if (const char* m = env("ECLIP_MATCH")) {
    const std::string mode = m;
    if (mode == "position") match_names_ = false;
    else if (mode != "names")
      say_once("ECLIP_MATCH", fmt::format("ECLIP_MATCH=\"{}\" is neither names nor position; using names", mode));
  }
  const auto workers = static_cast<unsigned>(plan_.workers.size());
  pool_ = std::make_unique<PartitionPool>(*backend_, workers, plan_.pool_specs(backend_->topology()));
  // The plan is enforced as made (its own budget); where each position runs, the order and the
  // counters are the router's.
  router_ = std::make_unique<KernelRouter>(*pool_, plan_, SwitchBudget::unlimited(), trace_.get());
  for (unsigned w = 0; w < workers; ++w) {
    auto wm = std::make_unique<WorkerMatch>();
    if (match_names_)
      for (const std::string& n : plan_.workers[w].kernel_names) {
        std::string compact;
        for (char c : n)
          if (!std::isspace(static_cast<unsigned char>(c))) compact.push_back(c);
        wm->names.push_back(std::move(compact));
      }
    workers_.push_back(std::move(wm));
  }
}

Engine::~Engine() = default;

void Engine::close_trace() noexcept {
  if (!trace_) return;
  try {
    trace_->close();
  } catch (const std::exception& e) {
    try {
      say_once("trace-close", e.what());
    } catch (...) {
    }
  }
}

OrderedLane* Engine::lane_of(std::uint64_t stream) noexcept {
  OrderedLane* lane = lanes_.find_or_insert(stream, [stream] { return std::make_unique<OrderedLane>(StreamHandle{stream}); });
  if (!lane) {
    try {
      say_once("lanes", "more application streams than eclip tracks (4096): launches into the others pass through "
                        "unrouted (said once)");
    } catch (...) {
    }
  }
  return lane;
}

std::string demangled(const char* symbol) {
  if (!symbol) return {};
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> d(abi::__cxa_demangle(symbol, nullptr, nullptr, &status), std::free);
  return status == 0 && d ? std::string(d.get()) : std::string(symbol);
}

bool name_matches(const std::string& planned, const std::string& launched) noexcept {
  std::size_t i = 0;
  for (char c : launched) {
    if (i == planned.size()) return true;
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    if (c != planned[i++]) return false;
  }
  return i == planned.size();
}

const std::string* Engine::kernel_name(const KernelRef& k) noexcept {
  if (!k.name || k.key == 0) return nullptr;
  const KernelName* e = kernel_names_.find_or_insert(k.key, [&k] {
    auto n = std::make_unique<KernelName>();
    n->key = k.key;
    InsideGuard guard;
    n->name = k.name(k.key);
    return n;
  });
  return e && !e->name.empty() ? &e->name : nullptr;  // empty: the runtime could not name it
}

// How far past the expected position a launch is looked for: longer than any run of launches the
// interposer cannot see (resnet152 under cuDNN 9: at most 4 in a row), short enough that a kernel
// the plan does not know costs little.
constexpr std::uint32_t kLookahead = 256;

const Engine::KernelIndex* Engine::index_of(WorkerMatch& wm, const KernelRef& k) noexcept {
  if (k.key == 0) return nullptr;
  const KernelIndex* e = wm.index.find_or_insert(k.key, [&] {
    auto entry = std::make_unique<KernelIndex>();
    entry->key = k.key;
    entry->name = kernel_name(k);
    if (entry->name)
      for (std::uint32_t p = 0; p < wm.names.size(); ++p)
        if (!wm.names[p].empty() && name_matches(wm.names[p], *entry->name)) entry->positions.push_back(p);
    return entry;
  });
  if (!e && !wm.said_full.exchange(true)) {
    try {
      say_once("index", "more distinct kernels than eclip indexes per worker (8192): the others are matched by "
                        "position (said once)");
    } catch (...) {
    }
  }
  return e;
}

std::uint32_t Engine::position(unsigned w, const KernelRef& kernel, const std::string** name_out) noexcept {
  WorkerMatch& wm = *workers_[w];
  const std::uint32_t n = router_->kernel_count(w);
  const KernelIndex* ki = wm.names.empty() ? nullptr : index_of(wm, kernel);
  const std::string* name = ki ? ki->name : nullptr;  // null: count positions for this launch
  *name_out = name;
  if (!name && !wm.names.empty() && !wm.said_noname.exchange(true)) {
    try {
      say_once(fmt::format("noname{}", w),
               fmt::format("worker {}: a launched kernel has no name the runtime will tell (cuKernelGetName / "
                           "cuFuncGetName / cudaFuncGetName / hipKernelNameRef need CUDA 12.3 / ROCm 5.x): such "
                           "launches are matched by position (said once)",
                           w));
    } catch (...) {
    }
  }
  // Decide against a snapshot of the cursor and publish it with one compare-exchange, so two
  // threads launching as the same worker never take the same position (one retries).
  std::uint32_t seen = wm.cursor.load(std::memory_order_relaxed), pos = 0, next = 0;
  std::int64_t at = -1;
  bool wrapped = false;
  std::uint64_t skipped = 0;
  for (;;) {
    pos = seen;
    wrapped = count_requests_ && pos >= n;
    if (wrapped) pos = 0;
    skipped = 0;
    if (!name) {
      at = pos < n ? static_cast<std::int64_t>(pos) : -1;
    } else if (pos < n && wm.names[pos].empty()) {
      at = pos;  // an unnamed plan position takes whatever comes at the cursor, never further on
    } else {
      at = -1;
      const std::vector<std::uint32_t>& ps = ki->positions;
      auto it = std::lower_bound(ps.begin(), ps.end(), pos);
      if (it != ps.end() && *it < std::uint64_t{pos} + kLookahead) at = *it;
      if (at < 0 && count_requests_ && pos > 0 && !ps.empty() && ps.front() == 0) {
        // The request's remaining kernels never reached us: this launch begins the next one.
        skipped = n - pos;
        wrapped = true;
        at = 0;
      } else if (at > pos) {
        skipped = static_cast<std::uint64_t>(at) - pos;
      }
    }
    next = at >= 0 ? static_cast<std::uint32_t>(at) + 1 : (name ? seen : pos + 1);
    if (next == seen || wm.cursor.compare_exchange_weak(seen, next, std::memory_order_relaxed)) break;
  }
  if (wrapped) wm.in_request.store(false, std::memory_order_relaxed);
  if (skipped) wm.skipped.fetch_add(skipped, std::memory_order_relaxed);
  if (at >= 0 && !wm.in_request.exchange(true, std::memory_order_relaxed)) router_->begin_request(w);
  if (at >= 0) return static_cast<std::uint32_t>(at);
  try {
    if (name) {
      if (!wm.said_nomatch.exchange(true))
        say_once(fmt::format("nomatch{}", w),
                 fmt::format("worker {}: kernel \"{}\" matches none of the plan's names from position {} on "
                             "(next: \"{}\"); launches that match nothing stay on the application's stream "
                             "(said once)",
                             w, name->substr(0, 120), pos,
                             pos < n ? plan_.workers[w].kernel_names[pos].substr(0, 120) : "end"));
    } else if (!wm.ran_past.exchange(true)) {
      say_once(fmt::format("past{}", w),
               fmt::format("worker {} launched kernel {} of its request but the plan has {}: launches past the "
                           "plan pass through on the application's stream (said once)",
                           w, pos, n));
    }
  } catch (...) {  // out of memory formatting a message: the launch still goes ahead
  }
  return RouteDecision::kNoPosition;
}

Engine::Launch Engine::begin_launch(std::uint64_t app, const KernelRef& kernel, const char* entry) noexcept {
  Launch l;
  l.app = l.target = app;
  l.worker = current_worker();
  const bool known = l.worker < workers_.size();
  try {
    if (vendor_.capturing && vendor_.capturing(app)) {  // passes through: capture order is the stream's own
      if (!known) {
        unknown_launches_.fetch_add(1, std::memory_order_relaxed);
        unknown_captured_.fetch_add(1, std::memory_order_relaxed);
      } else {
        const std::string* name = trace_ ? kernel_name(kernel) : nullptr;
        router_->pass_through(l.worker, StreamHandle{app}, RouteStatus::captured,
                              LaunchNote{name ? name->c_str() : nullptr, entry});
      }
      return l;
    }
    OrderedLane* lane = lane_of(app);
    if (!known) {
      unknown_launches_.fetch_add(1, std::memory_order_relaxed);
      say_once(fmt::format("worker{}", l.worker),
               fmt::format("worker {} is not in the plan ({} workers): its launches pass through unchanged", l.worker,
                           workers_.size()));
    }
    if (!lane) return l;
    if (!known) {  // in order behind the stream's routed work (another worker's, on a shared stream)
      l.target = lane->enter(*backend_, lane->home()).stream.value;
      l.lane = lane;
      return l;
    }
    const std::string* name = nullptr;
    const std::uint32_t at = position(l.worker, kernel, &name);
    if (!name && trace_) name = kernel_name(kernel);
    const RouteDecision d = router_->route_on(l.worker, at, *lane, LaunchNote{name ? name->c_str() : nullptr, entry});
    l.target = d.stream.value;
    l.lane = lane;
  } catch (...) {  // cannot happen once the lane is entered (route_on throws only for a bad worker)
  }
  return l;
}

void Engine::end_launch(Launch& l, bool launched) noexcept {
  OrderedLane* lane = l.lane;
  if (!lane) return;
  l.lane = nullptr;
  lane->leave();
  if (!eager_ || !launched || l.target == l.app) return;
  // Eager join: the application's stream waits for this kernel at once (no query: it cannot have
  // completed), so nothing else on it needs to be intercepted.
  try {
    if (l.worker < workers_.size()) router_->join_on(l.worker, *lane, /*always_wait=*/true);
    else lane->enter(*backend_, lane->home(), nullptr, /*always_wait=*/true);
  } catch (...) {
    return;  // not entered
  }
  lane->leave();
}

void Engine::add_time(const Launch& l, std::uint64_t ns) noexcept {
  if (l.worker < workers_.size()) workers_[l.worker]->eclip_ns.fetch_add(ns, std::memory_order_relaxed);
}

Engine::Joined::Joined(OrderedLane* lane) noexcept : lane_(lane) { ++tl_inside; }
Engine::Joined::~Joined() {
  if (!lane_) return;
  lane_->leave();
  --tl_inside;
}

Engine::Joined Engine::join(std::uint64_t app) noexcept {
  OrderedLane* lane = lanes_.find(app);
  if (!lane) return Joined{};  // no launch ever reached this stream: nothing of eclip's to wait for
  const unsigned w = current_worker();
  try {
    if (w < workers_.size()) router_->join_on(w, *lane);
    else lane->enter(*backend_, lane->home());
  } catch (...) {
    return Joined{};  // not entered
  }
  return Joined{lane};
}

void Engine::forget(std::uint64_t app) noexcept {
  const Joined joined = join(app);
}

void Engine::begin_request(unsigned worker) noexcept {
  if (worker >= workers_.size()) return;
  WorkerMatch& wm = *workers_[worker];
  wm.cursor.store(0, std::memory_order_relaxed);
  wm.in_request.store(false, std::memory_order_relaxed);
}

bool Engine::counters(std::int32_t worker, eclip_preload_counters* out) const noexcept {
  if (!out || worker < -1 || (worker >= 0 && static_cast<size_t>(worker) >= workers_.size())) return false;
  *out = eclip_preload_counters{};
  try {
    const RouterCounters c = worker >= 0 ? router_->counters(static_cast<unsigned>(worker)) : router_->totals();
    out->launches = c.launches;
    out->routed = c.partitioned();
    out->kept = c.whole_device;
    out->unplanned = c.unrouted + c.backend_errors;
    out->captured = c.captured;
    out->switches = c.switches;
    out->barriers = c.barriers;
    out->joins = c.joins;
    out->requests = c.requests;
  } catch (...) {
    return false;
  }
  auto add = [out](const WorkerMatch& m) {
    out->skipped += m.skipped.load(std::memory_order_relaxed);
    out->eclip_ns += m.eclip_ns.load(std::memory_order_relaxed);
  };
  if (worker >= 0) {
    add(*workers_[static_cast<size_t>(worker)]);
  } else {
    for (const auto& w : workers_) add(*w);
    const std::uint64_t unknown = unknown_launches_.load(std::memory_order_relaxed);
    const std::uint64_t captured = unknown_captured_.load(std::memory_order_relaxed);
    out->launches += unknown;
    out->captured += captured;
    out->unplanned += unknown - captured;
  }
  return true;
}

}  // namespace eclip::preload
