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

constexpr std::uint64_t kAppStream = ~std::uint64_t{0};  // Placement::stream: stay on the app's stream

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

void bump(std::atomic<std::uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }

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
    auto* e = new Engine(vendor, std::move(backend), std::move(plan), eager, count);  // lives until exit
    if (const char* t = env("ECLIP_TRACE")) {
      try {
        e->open_trace(t);
      } catch (const std::exception& ex) {
        say_once("trace", fmt::format("cannot trace to ECLIP_TRACE={}: {}; not tracing", t, ex.what()));
      }
    }
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

Engine::Engine(const VendorHooks& vendor, std::unique_ptr<Backend> backend, Plan plan, bool eager, bool count_requests)
    : vendor_(vendor), backend_(std::move(backend)), plan_(std::move(plan)), eager_(eager),
      count_requests_(count_requests) {
  if (const char* m = env("ECLIP_MATCH")) {
    const std::string mode = m;
    if (mode == "position") match_names_ = false;
    else if (mode != "names")
      say_once("ECLIP_MATCH", fmt::format("ECLIP_MATCH=\"{}\" is neither names nor position; using names", mode));
  }
  const Topology& topo = backend_->topology();
  const auto specs = plan_.pool_specs(topo);
  pool_ = std::make_unique<PartitionPool>(*backend_, static_cast<unsigned>(plan_.workers.size()), specs);
  for (unsigned w = 0; w < plan_.workers.size(); ++w) {
    auto ws = std::make_unique<WorkerState>();
    for (PartitionConfig c : plan_.workers[w].per_kernel()) {
      if (c.whole_device(topo)) {
        ws->placement.push_back({kAppStream, topo.units()});
        continue;
      }
      auto slot = pool_->find(w, c);
      if (!slot) throw Error(Errc::invalid_argument, fmt::format("worker {}: no pool stream for {} groups", w, c.groups));
      const PartitionPool::Slot& s = pool_->slots(w)[*slot];
      ws->placement.push_back({s.stream.value, s.mask.count()});  // H100: 8 groups may hold 64 or 68 SMs
    }
    if (match_names_)
      for (const std::string& n : plan_.workers[w].kernel_names) {
        std::string compact;
        for (char c : n)
          if (!std::isspace(static_cast<unsigned char>(c))) compact.push_back(c);
        ws->names.push_back(std::move(compact));
      }
    workers_.push_back(std::move(ws));
  }
}

Engine::~Engine() = default;

Engine::StreamState* Engine::state_of(std::uint64_t stream, bool create) {
  std::lock_guard lock(map_mutex_);
  auto it = streams_.find(stream);
  if (it != streams_.end()) return it->second.get();
  if (!create) return nullptr;
  auto st = std::make_unique<StreamState>();
  st->tail = stream;
  StreamState* p = st.get();
  streams_.emplace(stream, std::move(st));
  return p;
}

bool Engine::order(std::uint64_t from, std::uint64_t to, bool always, WorkerState* ws) noexcept {
  try {
    const MarkerHandle m = backend_->record_marker(StreamHandle{from});
    bool wait = always;
    try {
      if (!wait) wait = !backend_->marker_done(m);
      if (wait) backend_->wait_marker(StreamHandle{to}, m);
    } catch (...) {
      backend_->release_marker(m);
      throw;
    }
    backend_->release_marker(m);
    if (wait && ws) bump(ws->barriers);
    return true;
  } catch (const std::exception& e) {
    say_once("order", fmt::format("ordering a launch across streams failed ({}); such launches stay on the stream "
                                  "that holds the application stream's work (said once)", e.what()));
    return false;
  }
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
  try {
    {
      std::shared_lock lock(names_mutex_);
      if (auto it = kernel_names_.find(k.key); it != kernel_names_.end())
        return it->second.empty() ? nullptr : &it->second;
    }
    std::string n;
    {
      InsideGuard guard;
      n = k.name(k.key);
    }
    std::unique_lock lock(names_mutex_);
    const std::string& cached = kernel_names_.emplace(k.key, std::move(n)).first->second;
    return cached.empty() ? nullptr : &cached;  // the runtime could not name it
  } catch (...) {
    return nullptr;
  }
}

// How far past the expected position a launch is looked for: longer than any run of launches the
// interposer cannot see (resnet152 under cuDNN 9: at most 4 in a row), short enough that a kernel
// the plan does not know costs little.
constexpr std::uint32_t kLookahead = 256;

const Engine::WorkerState::KernelIndex* Engine::index_of(WorkerState& ws, const KernelRef& k) noexcept {
  if (k.key == 0) return nullptr;
  try {
    std::lock_guard lock(ws.index_mutex);
    auto it = ws.index.find(k.key);
    if (it == ws.index.end()) {
      WorkerState::KernelIndex e;
      e.name = kernel_name(k);
      if (e.name)
        for (std::uint32_t p = 0; p < ws.names.size(); ++p)
          if (!ws.names[p].empty() && name_matches(ws.names[p], *e.name)) e.positions.push_back(p);
      it = ws.index.emplace(k.key, std::move(e)).first;  // node-based: the entry stays put
    }
    return &it->second;
  } catch (...) {
    return nullptr;
  }
}

Engine::Launch Engine::begin_launch(std::uint64_t app, const KernelRef& kernel) noexcept {
  Launch l;
  l.app = l.target = app;
  l.worker = current_worker();
  WorkerState* ws = worker_state(l.worker);
  WorkerState& cs = ws ? *ws : unknown_;
  bump(cs.launches);
  if (vendor_.capturing && vendor_.capturing(app)) {
    bump(cs.captured);
    return l;  // passes through, unlocked: capture order is the stream's own
  }
  std::uint64_t target = app;
  bool planned = false;
  l.request = cs.requests.load(std::memory_order_relaxed);
  if (!ws) {
    bump(cs.unplanned);
    say_once(fmt::format("worker{}", l.worker),
             fmt::format("worker {} is not in the plan ({} workers): its launches pass through unchanged", l.worker,
                         workers_.size()));
  } else {
    const auto n = static_cast<std::uint32_t>(ws->placement.size());
    const WorkerState::KernelIndex* ki = ws->names.empty() ? nullptr : index_of(*ws, kernel);
    const std::string* name = ki ? ki->name : nullptr;  // null: count positions for this launch
    l.kernel = name;
    if (!name && !ws->names.empty() && !ws->said_noname.exchange(true)) {
      say_once(fmt::format("noname{}", l.worker),
               fmt::format("worker {}: a launched kernel has no name the runtime will tell (cuKernelGetName / "
                           "cuFuncGetName / cudaFuncGetName / hipKernelNameRef need CUDA 12.3 / ROCm 5.x): such "
                           "launches are matched by position (said once)",
                           l.worker));
    }
    // Decide against a snapshot of the cursor and publish it with one compare-exchange, so two
    // threads launching as the same worker never take the same position (one retries).
    std::uint32_t seen = ws->cursor.load(std::memory_order_relaxed), pos = 0, next = 0;
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
      } else if (pos < n && ws->names[pos].empty()) {
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
      if (next == seen || ws->cursor.compare_exchange_weak(seen, next, std::memory_order_relaxed)) break;
    }
    if (wrapped) ws->in_request.store(false, std::memory_order_relaxed);
    if (skipped) ws->skipped.fetch_add(skipped, std::memory_order_relaxed);
    if (at >= 0 && !ws->in_request.exchange(true, std::memory_order_relaxed))
      l.request = ws->requests.fetch_add(1, std::memory_order_relaxed) + 1;
    else
      l.request = ws->requests.load(std::memory_order_relaxed);
    l.position = at;
    if (at >= 0) {
      const auto p = static_cast<std::size_t>(at);
      l.planned_units = ws->placement[p].units;
      const std::uint64_t t = ws->placement[p].stream;
      if (t == kAppStream) {
        bump(ws->kept);
      } else {
        target = t;
        planned = true;
      }
    } else {
      bump(ws->unplanned);
      try {
        if (name) {
          if (!ws->said_nomatch.exchange(true))
            say_once(fmt::format("nomatch{}", l.worker),
                     fmt::format("worker {}: kernel \"{}\" matches none of the plan's names from position {} on "
                                 "(next: \"{}\"); launches that match nothing stay on the application's stream "
                                 "(said once)",
                                 l.worker, name->substr(0, 120), pos,
                                 pos < n ? plan_.workers[l.worker].kernel_names[pos].substr(0, 120) : "end"));
        } else if (!ws->ran_past.exchange(true)) {
          say_once(fmt::format("past{}", l.worker),
                   fmt::format("worker {} launched kernel {} of its request but the plan has {}: launches past the "
                               "plan pass through on the application's stream (said once)",
                               l.worker, pos, n));
        }
      } catch (...) {  // out of memory formatting a message: the launch still goes ahead
      }
    }
  }
  StreamState* st = nullptr;
  try {
    st = state_of(app, true);
  } catch (...) {
    return l;
  }
  st->mutex.lock();
  l.state = st;
  if (st->tail != target) {
    if (order(st->tail, target, false, ws)) bump(cs.switches);
    else target = st->tail;  // keep the stream's order: launch where its work already is
  }
  l.target = target;
  if (planned && target != app) bump(cs.routed);
  else if (planned) bump(cs.unplanned);
  return l;
}

void Engine::end_launch(Launch& l, bool launched) noexcept {
  StreamState* st = l.state;
  if (!st) return;
  if (launched) {
    std::uint64_t tail = l.target;
    if (eager_ && l.target != l.app && order(l.target, l.app, true, nullptr)) tail = l.app;
    const bool was = st->tail != l.app, now = tail != l.app;
    if (was != now) diverted_.fetch_add(now ? 1 : -1, std::memory_order_relaxed);
    st->tail = tail;
  }
  l.state = nullptr;
  st->mutex.unlock();
}

void Engine::add_time(const Launch& l, std::uint64_t ns) noexcept {
  WorkerState* ws = worker_state(l.worker);
  (ws ? *ws : unknown_).eclip_ns.fetch_add(ns, std::memory_order_relaxed);
}

void Engine::join(std::uint64_t app) noexcept {
  if (diverted_.load(std::memory_order_relaxed) == 0) return;
  StreamState* st = nullptr;
  try {
    st = state_of(app, false);
  } catch (...) {
    return;
  }
  if (!st) return;
  std::lock_guard lock(st->mutex);
  if (st->tail == app) return;
  WorkerState* ws = worker_state(current_worker());
  if (order(st->tail, app, false, ws)) {
    bump((ws ? *ws : unknown_).joins);
    st->tail = app;
    diverted_.fetch_sub(1, std::memory_order_relaxed);
  }
}

void Engine::open_trace(const char* pattern) {
  std::string path = pattern;  // "%p" becomes the process id (one file per process under MPS)
  for (auto at = path.find("%p"); at != std::string::npos; at = path.find("%p"))
    path.replace(at, 2, std::to_string(::getpid()));
  trace_ = std::fopen(path.c_str(), "w");
  if (!trace_) {
    say_once("trace", fmt::format("cannot write ECLIP_TRACE={}: {}; not tracing", path, std::strerror(errno)));
    return;
  }
  std::setvbuf(trace_, nullptr, _IOLBF, 0);  // whole lines even if the process is killed
  std::fputs("worker\trequest\tposition\tplanned_units\tapp_stream\tstream\tentry\tkernel\n", trace_);
}

void Engine::trace(const Launch& l, const char* entry, const char* kernel) noexcept {
  if (!trace_) return;
  try {
    std::lock_guard lock(trace_mutex_);
    auto name = [this](std::uint64_t s) -> const std::string& {
      auto it = stream_names_.find(s);
      if (it == stream_names_.end()) {
        InsideGuard guard;
        it = stream_names_.emplace(s, vendor_.describe_stream ? vendor_.describe_stream(s) : fmt::format("{:#x}", s))
                 .first;
      }
      return it->second;
    };
    const std::string& app = name(l.app);
    const std::string& on = name(l.target);
    std::fprintf(trace_, "%u\t%llu\t%lld\t%u\t%s\t%s\t%s\t%s\n", l.worker,
                 static_cast<unsigned long long>(l.request), static_cast<long long>(l.position), l.planned_units,
                 app.c_str(), on.c_str(), entry, kernel ? kernel : "?");
  } catch (...) {
  }
}

// The state stays (a handle may be reused by a later stream; its tail is the stream itself then).
void Engine::forget(std::uint64_t app) noexcept { join(app); }

void Engine::begin_request(unsigned worker) noexcept {
  if (WorkerState* ws = worker_state(worker)) {
    ws->cursor.store(0, std::memory_order_relaxed);
    ws->in_request.store(false, std::memory_order_relaxed);
  }
}

bool Engine::counters(std::int32_t worker, eclip_preload_counters* out) const noexcept {
  if (!out || worker < -1 || (worker >= 0 && static_cast<size_t>(worker) >= workers_.size())) return false;
  *out = eclip_preload_counters{};
  auto add = [out](const WorkerState& s) {
    out->launches += s.launches.load(), out->routed += s.routed.load(), out->kept += s.kept.load();
    out->unplanned += s.unplanned.load(), out->captured += s.captured.load(), out->switches += s.switches.load();
    out->barriers += s.barriers.load(), out->joins += s.joins.load(), out->requests += s.requests.load();
    out->skipped += s.skipped.load(), out->eclip_ns += s.eclip_ns.load();
  };
  if (worker >= 0) {
    add(*workers_[static_cast<size_t>(worker)]);
  } else {
    for (const auto& w : workers_) add(*w);
    add(unknown_);
  }
  return true;
}

}  // namespace eclip::preload
