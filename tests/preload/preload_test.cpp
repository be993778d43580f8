// The AMD interposer against the stand-in libamdhip64 (fake_hip.cpp). Run as
//   LD_PRELOAD=libeclip_preload.so ECLIP_PLAN=... preload_test <scenario>
// An "unmodified" HIP program: it calls only HIP (and, where a scenario is about threads, looks up
// eclip_set_worker at run time). Exit 0 = every check held.
#include <dlfcn.h>
#include <unistd.h>

#include <bitset>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "eclip/eclip_c.h"
#include "fake_hip.h"

namespace {
int failures = 0;
#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

void kernel_stub() {}
const void* kfn = reinterpret_cast<const void*>(&kernel_stub);
// A module function handle, as hipModuleGetFunction would give (the stand-in never dereferences it).
const hipFunction_t mfn = reinterpret_cast<hipFunction_t>(std::uintptr_t{0x4000});

// The entry points an application reaches, each tagged so the stand-in's log names the launch.
void launch(int tag, hipStream_t s) {
  void* args[] = {&tag};
  CHECK(hipLaunchKernel(kfn, dim3{1, 1, 1}, dim3{64, 1, 1}, args, 0, s) == hipSuccess);
}
void ext_launch(int tag, hipStream_t s) {
  void* args[] = {&tag};
  CHECK(hipExtLaunchKernel(kfn, dim3{1, 1, 1}, dim3{64, 1, 1}, args, 0, s, nullptr, nullptr, 0) == hipSuccess);
}
void module_launch(int tag, hipStream_t s) {
  void* args[] = {&tag};
  CHECK(hipModuleLaunchKernel(mfn, 1, 1, 1, 64, 1, 1, 0, s, args, nullptr) == hipSuccess);
}
void ext_module_launch(int tag, hipStream_t s) {
  void* args[] = {&tag};
  CHECK(hipExtModuleLaunchKernel(mfn, 64, 1, 1, 64, 1, 1, 0, s, args, nullptr, nullptr, nullptr, 0) ==
        hipSuccess);
}
void copy(int tag, hipStream_t s) {
  static char buf[4096];
  CHECK(hipMemcpyAsync(buf, buf + 1, static_cast<size_t>(tag), 2, s) == hipSuccess);
}

std::vector<fakehip_op> ops() {
  const fakehip_op* p = nullptr;
  const std::size_t n = fakehip_ops(&p);
  return {p, p + n};
}
std::uint64_t h(hipStream_t s) { return reinterpret_cast<std::uint64_t>(s); }

/// Index of the (first) launch or copy with `tag`.
long find(const std::vector<fakehip_op>& o, int kind, int tag) {
  for (size_t i = 0; i < o.size(); ++i)
    if (o[i].kind == kind && o[i].tag == tag) return static_cast<long>(i);
  return -1;
}
std::uint64_t stream_of_launch(int tag) {
  auto o = ops();
  long i = find(o, FAKEHIP_LAUNCH, tag);
  return i < 0 ? 0 : o[static_cast<size_t>(i)].stream;
}
unsigned cus(std::uint64_t stream, std::vector<std::uint32_t>* words = nullptr) {
  std::uint32_t w[8];
  const int n = fakehip_stream_mask(stream, w, 8);
  unsigned c = 0;
  for (int i = 0; i < n; ++i) c += static_cast<unsigned>(std::bitset<32>(w[i]).count());
  if (words) words->assign(w, w + n);
  return c;
}

/// True when op `a` is ordered before op `b` by stream order and event waits (a happens-before
/// graph over the log: each op follows the previous op on its stream; a wait follows the latest
/// record of its event).
bool ordered(const std::vector<fakehip_op>& o, long a, long b) {
  if (a < 0 || b < 0 || a >= b) return false;
  std::vector<char> seen(o.size(), 0);
  std::vector<long> todo{b};
  while (!todo.empty()) {
    long j = todo.back();
    todo.pop_back();
    if (j == a) return true;
    if (j < 0 || seen[static_cast<size_t>(j)]) continue;
    seen[static_cast<size_t>(j)] = 1;
    const fakehip_op& op = o[static_cast<size_t>(j)];
    for (long i = j - 1; i >= 0; --i)
      if (o[static_cast<size_t>(i)].stream == op.stream) {
        todo.push_back(i);
        break;
      }
    if (op.kind == FAKEHIP_WAIT)
      for (long i = j - 1; i >= 0; --i)
        if (o[static_cast<size_t>(i)].kind == FAKEHIP_RECORD && o[static_cast<size_t>(i)].event == op.event) {
          todo.push_back(i);
          break;
        }
  }
  return false;
}
/// Each op in `seq` (kind, tag) is ordered after the one before it.
void check_chain(const std::vector<std::pair<int, int>>& seq) {
  auto o = ops();
  for (size_t i = 1; i < seq.size(); ++i) {
    const long a = find(o, seq[i - 1].first, seq[i - 1].second), b = find(o, seq[i].first, seq[i].second);
    if (!ordered(o, a, b)) {
      std::fprintf(stderr, "order broken: (%d,%d) at %ld is not before (%d,%d) at %ld\n", seq[i - 1].first,
                   seq[i - 1].second, a, seq[i].first, seq[i].second, b);
      ++failures;
    }
  }
}
long count_kind(int kind, size_t from = 0) {
  auto o = ops();
  long n = 0;
  for (size_t i = from; i < o.size(); ++i) n += o[i].kind == kind;
  return n;
}

template <class F>
F lookup(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
}
eclip_preload_counters counters(int w) {
  eclip_preload_counters c{};
  auto get = lookup<int (*)(int32_t, eclip_preload_counters*)>("eclip_preload_get_counters");
  CHECK(get && get(w, &c) == 0);
  return c;
}

constexpr int L = FAKEHIP_LAUNCH, C = FAKEHIP_COPY;

std::string hex(std::uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "%#llx", static_cast<unsigned long long>(v));
  return b;
}
std::string name_at(const void* f) {
  char b[64];
  std::snprintf(b, sizeof b, "kernel@%p", f);
  return b;
}

std::string trace_file() {
  std::string file = std::getenv("ECLIP_TRACE");  // "%p" is the process id
  if (auto at = file.find("%p"); at != std::string::npos) file.replace(at, 2, std::to_string(getpid()));
  return file;
}
/// The trace as JSON. `closed`: the file must be complete; otherwise (the process still runs) the
/// closing bracket is added, as a trace viewer does.
nlohmann::json read_trace(bool closed) {
  std::ifstream in(trace_file());
  CHECK(in.good());
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  if (!closed && s.find(']', s.size() > 3 ? s.size() - 3 : 0) == std::string::npos) s += "]";
  nlohmann::json j = nlohmann::json::parse(s, nullptr, /*allow_exceptions=*/false);
  CHECK(!j.is_discarded());
  CHECK(j.is_array());
  return j;
}

// ECLIP_TRACE of route(): a Perfetto trace (JSON array of trace events); per launch its worker
// (tid), request, plan position, the partition's units, app stream (lane), stream launched on,
// switch and barrier, entry point and kernel name; request boundaries; joins.
void check_route_trace(std::uint64_t a, std::uint64_t b, std::uint64_t c, std::uint64_t s0, std::uint64_t s1) {
  const nlohmann::json j = read_trace(false);
  if (!j.is_array()) return;
  struct Want {
    unsigned worker;
    std::uint64_t request;
    int position;
    unsigned units;
    std::uint64_t lane, stream;
    const char* entry;
    std::string name;
    bool switched, barrier;
  };
  const std::string k = name_at(kfn), m = name_at(mfn);
  const std::vector<Want> want = {
      {0, 1, 0, 15, s0, a, "hipLaunchKernel", k, true, true},
      {0, 1, 1, 15, s0, a, "hipExtLaunchKernel", k, false, false},
      {0, 1, 2, 30, s0, b, "hipModuleLaunchKernel", m, true, true},
      {0, 1, 3, 30, s0, b, "hipExtModuleLaunchKernel", m, false, false},
      {0, 1, 4, 60, s0, s0, "hipLaunchKernel", k, false, false},
      {0, 2, 0, 15, s0, a, "hipLaunchKernel", k, true, true},
      {1, 1, 0, 15, s1, c, "hipModuleLaunchKernel", m, true, true},
      {1, 1, 1, 15, s1, c, "hipExtModuleLaunchKernel", m, false, false},
      {1, 1, 2, 15, s1, c, "hipLaunchKernel", k, false, false},
      {0, 2, 1, 15, s0, a, "hipLaunchKernel", k, true, false},  // predecessors complete: no barrier
      {0, 2, 2, 30, s0, b, "hipLaunchKernel", k, true, false},
  };
  std::vector<nlohmann::json> launches;
  int requests = 0, joins = 0, join_barriers = 0, threads = 0;
  for (const auto& e : j) {
    CHECK(e.contains("ph") && e.contains("pid"));
    const std::string cat = e.value("cat", "");
    if (cat == "launch") launches.push_back(e);
    if (cat == "request") ++requests;
    if (cat == "join") ++joins, join_barriers += e["args"]["barrier"].get<bool>();
    if (e.value("name", "") == "thread_name") ++threads;
  }
  CHECK(requests == 3);  // worker 0: 2, worker 1: 1
  CHECK(joins == 5);     // copies 100, 200, 300, 400 and the sync of S0 after routed work
  CHECK(join_barriers == 4);
  CHECK(threads == 2);
  CHECK(launches.size() == want.size());
  for (size_t i = 0; i < launches.size() && i < want.size(); ++i) {
    const nlohmann::json& e = launches[i];
    const nlohmann::json& g = e["args"];
    const Want& w = want[i];
    const bool ok = e["ph"] == "i" && e["tid"] == w.worker && e["ts"].is_number() && g["worker"] == w.worker &&
                    g["request"] == w.request && g["position"] == w.position && g["units"] == w.units &&
                    g["lane"] == hex(w.lane) && g["stream"] == hex(w.stream) && g["entry"] == w.entry &&
                    e["name"] == w.name && g["switch"] == w.switched && g["barrier"] == w.barrier &&
                    g["status"] == "routed";
    if (!ok) {
      std::fprintf(stderr, "trace launch %zu: %s\n", i, e.dump().c_str());
      ++failures;
    }
  }
}

/// Registered before the first launch, so it runs after the interposer's own exit handler closed
/// the trace: the whole file is valid JSON then.
void check_trace_closed_at_exit() {
  const nlohmann::json j = read_trace(true);
  if (failures) {
    std::fprintf(stderr, "preload_test: the trace is not valid JSON at exit\n");
    std::_Exit(1);
  }
}

// Worker 0 (ECLIP_WORKER unset) on S0, worker 1 on its own thread (eclip_set_worker) on S1.
// Plan (data/mi50_two_workers.json): worker 0 kernels 0-1 on 1 SE, 2-3 on 2 SEs, 4 on the whole
// GPU; worker 1 kernels 0-2 on 1 SE.
int route() {
  hipStream_t s0, s1;
  hipStreamCreate(&s0);
  hipStreamCreate(&s1);
  launch(1, s0);
  ext_launch(2, s0);
  copy(100, s0);
  module_launch(3, s0);
  ext_module_launch(4, s0);
  copy(200, s0);
  launch(5, s0);  // whole device: stays on S0
  launch(6, s0);  // past the plan's 5 kernels: request 2, kernel 0
  CHECK(hipStreamSynchronize(s0) == hipSuccess);

  std::thread t([s1] {
    auto set_worker = lookup<int (*)(int)>("eclip_set_worker");
    auto get_worker = lookup<int (*)(int*)>("eclip_get_worker");
    auto message = lookup<const char* (*)(void)>("eclip_last_error");
    CHECK(set_worker && get_worker && message);
    if (!set_worker || !get_worker || !message) return;
    int w = -1;
    CHECK(get_worker(&w) == ECLIP_OK && w == 0);
    CHECK(set_worker(-2) == ECLIP_E_INVALID_ARGUMENT);
    CHECK(std::strstr(message(), "worker -2") != nullptr);
    CHECK(get_worker(nullptr) == ECLIP_E_INVALID_ARGUMENT);
    CHECK(set_worker(1) == ECLIP_OK);
    CHECK(std::string(message()).empty());
    CHECK(get_worker(&w) == ECLIP_OK && w == 1);
    module_launch(11, s1);
    ext_module_launch(12, s1);
    launch(13, s1);
    copy(300, s1);
    CHECK(hipStreamSynchronize(s1) == hipSuccess);
  });
  t.join();

  const std::uint64_t a = stream_of_launch(1), b = stream_of_launch(3), c = stream_of_launch(11);
  std::vector<std::uint32_t> wa, wb, wc;
  CHECK(cus(a, &wa) == 15);
  CHECK(cus(b, &wb) == 30);
  CHECK(cus(c, &wc) == 15);
  CHECK(stream_of_launch(2) == a);
  CHECK(stream_of_launch(4) == b);
  CHECK(stream_of_launch(5) == h(s0));
  CHECK(stream_of_launch(6) == a);
  CHECK(stream_of_launch(12) == c && stream_of_launch(13) == c);
  // Worker 0's 1-SE partition lies inside its 2-SE one (grown from its home engine); worker 1's
  // is elsewhere.
  for (size_t i = 0; i < wa.size() && i < wb.size() && i < wc.size(); ++i) {
    CHECK((wa[i] & ~wb[i]) == 0);
    CHECK((wa[i] & wc[i]) == 0);
  }
  auto o = ops();
  CHECK(o[static_cast<size_t>(find(o, C, 100))].stream == h(s0));
  CHECK(o[static_cast<size_t>(find(o, C, 300))].stream == h(s1));
  check_chain({{L, 1}, {L, 2}, {C, 100}, {L, 3}, {L, 4}, {C, 200}, {L, 5}, {L, 6}});
  check_chain({{L, 11}, {L, 12}, {L, 13}, {C, 300}});
  {  // the syncs come after the streams' last routed launch
    long last0 = find(o, L, 6), sync0 = -1, last1 = find(o, C, 300), sync1 = -1;
    for (size_t i = 0; i < o.size(); ++i)
      if (o[i].kind == FAKEHIP_SYNC) (o[i].stream == h(s0) ? sync0 : sync1) = static_cast<long>(i);
    CHECK(ordered(o, last0, sync0));
    CHECK(ordered(o, last1, sync1));
  }
  eclip_preload_counters c0 = counters(0), c1 = counters(1);
  CHECK(c0.launches == 6 && c0.routed == 5 && c0.kept == 1 && c0.unplanned == 0 && c0.requests == 2);
  CHECK(c0.switches == 3 && c0.joins == 3 && c0.barriers == 6);
  CHECK(c1.launches == 3 && c1.routed == 3 && c1.switches == 1 && c1.joins == 1);
  {
    auto get = lookup<int (*)(int32_t, eclip_preload_counters*)>("eclip_preload_get_counters");
    auto message = lookup<const char* (*)(void)>("eclip_last_error");
    eclip_preload_counters none{};
    CHECK(get && message && get(7, &none) == ECLIP_E_INVALID_ARGUMENT);
    if (message) CHECK(std::strstr(message(), "worker 7 out of range: the plan has 2 workers") != nullptr);
    CHECK(get && get(0, nullptr) == ECLIP_E_INVALID_ARGUMENT);
  }
  // eclip's own host time per launch is measured only under ECLIP_STATS.
  CHECK((c0.eclip_ns > 0 && c1.eclip_ns > 0) == (std::getenv("ECLIP_STATS") != nullptr));
  CHECK(fakehip_masked_streams() == 3);

  // Predecessors already complete: the same placement, and no wait is enqueued (ECLIP's rule).
  fakehip_set_events_complete(1);
  const size_t mark = ops().size();
  launch(7, s0);  // kernel 1: 1 SE (where kernel 0 went)
  launch(8, s0);  // kernel 2: 2 SEs
  copy(400, s0);
  CHECK(stream_of_launch(7) == a && stream_of_launch(8) == b);
  CHECK(count_kind(FAKEHIP_WAIT, mark) == 0);
  CHECK(counters(0).barriers == c0.barriers);
  if (std::getenv("ECLIP_TRACE")) check_route_trace(a, b, c, h(s0), h(s1));
  return failures;
}

// Launches into a stream under capture pass through and take no request position.
int capture() {
  hipStream_t s0;
  hipStreamCreate(&s0);
  launch(1, s0);  // kernel 0: 1 SE
  CHECK(hipStreamBeginCapture(s0, 0) == hipSuccess);
  launch(2, s0);
  module_launch(3, s0);
  CHECK(hipStreamEndCapture(s0, nullptr) == hipSuccess);
  launch(4, s0);  // kernel 1: 1 SE again
  launch(5, s0);  // kernel 2: 2 SEs
  CHECK(cus(stream_of_launch(1)) == 15);
  CHECK(stream_of_launch(2) == h(s0) && stream_of_launch(3) == h(s0));
  CHECK(stream_of_launch(4) == stream_of_launch(1));
  CHECK(cus(stream_of_launch(5)) == 30);
  check_chain({{L, 1}, {L, 2}, {L, 3}, {L, 4}, {L, 5}});
  eclip_preload_counters c = counters(0);
  CHECK(c.captured == 2 && c.routed == 3);
  return failures;
}

// A plan that names its kernels (data/mi50_named.json): launches are matched to positions by
// name, so kernels the interposer never sees are skipped, a kernel the plan does not name stays
// on the app stream without shifting the plan, and (ECLIP_REQUEST=count) a request whose last
// kernels were never seen ends when the plan's first kernel comes again.
// Plan, worker 0: 0 conv_a, 1 hidden_layout, 2 conv_a, 3 "void  gemm_b<int>" [1 SE, 1 SE, 2 SEs,
// 2 SEs], 4 hidden_reduce, 5 tail_c [whole device].
void conv_a() {}
void gemm_b() {}
void tail_c() {}
void mystery() {}
void launch_fn(void (*fn)(), int tag, hipStream_t s) {
  void* args[] = {&tag};
  CHECK(hipLaunchKernel(reinterpret_cast<const void*>(fn), dim3{1, 1, 1}, dim3{64, 1, 1}, args, 0, s) == hipSuccess);
}
int names(bool by_position) {
  fakehip_set_kernel_name(reinterpret_cast<const void*>(&conv_a), "conv_a");
  fakehip_set_kernel_name(reinterpret_cast<const void*>(&gemm_b), "void gemm_b<int>(int, float)");
  fakehip_set_kernel_name(reinterpret_cast<const void*>(&tail_c), "tail_c");
  fakehip_set_kernel_name(reinterpret_cast<const void*>(&mystery), "mystery");
  hipStream_t s0;
  hipStreamCreate(&s0);
  // Request 1: hidden_layout and hidden_reduce never come.
  launch_fn(conv_a, 1, s0);  // 0
  launch_fn(conv_a, 2, s0);  // 2 (1 skipped)
  launch_fn(gemm_b, 3, s0);  // 3: prefix and whitespace do not matter
  launch_fn(tail_c, 4, s0);  // 5 (4 skipped)
  // Request 2 (the plan's count wrapped), with a kernel the plan does not name.
  launch_fn(conv_a, 5, s0);   // 0
  launch_fn(mystery, 6, s0);  // no position: app stream, the plan does not move
  launch_fn(conv_a, 7, s0);   // 2 (1 skipped)
  launch_fn(gemm_b, 8, s0);   // 3
  // Request 3: conv_a matches nothing after 3, so the rest of request 2 was never seen.
  launch_fn(conv_a, 9, s0);  // 0 (4 and 5 skipped)
  const std::uint64_t one = stream_of_launch(1);
  check_chain({{L, 1}, {L, 2}, {L, 3}, {L, 4}, {L, 5}, {L, 6}, {L, 7}, {L, 8}, {L, 9}});
  eclip_preload_counters c = counters(0);
  if (by_position) {  // ECLIP_MATCH=position: the second conv_a takes position 1 (1 SE)
    CHECK(cus(one) == 15 && stream_of_launch(2) == one && cus(stream_of_launch(3)) == 30);
    CHECK(c.skipped == 0);
    return failures;
  }
  const std::uint64_t two = stream_of_launch(2);
  CHECK(cus(one) == 15 && cus(two) == 30);
  CHECK(stream_of_launch(3) == two && stream_of_launch(4) == h(s0));
  CHECK(stream_of_launch(5) == one && stream_of_launch(6) == h(s0) && stream_of_launch(7) == two);
  CHECK(stream_of_launch(8) == two && stream_of_launch(9) == one);
  CHECK(c.launches == 9 && c.routed == 7 && c.kept == 1 && c.unplanned == 1);
  CHECK(c.skipped == 5 && c.requests == 3);
  return failures;
}

// Worker 1 of data/mi50_named.json names its kernels "" then "void  gemm_b<int>": an unnamed plan
// position takes what comes at the cursor and no further; a kernel the runtime cannot name is
// matched by position (said once).
int names_edge() {
  fakehip_set_kernel_name(reinterpret_cast<const void*>(&conv_a), "conv_a");
  fakehip_set_kernel_name(reinterpret_cast<const void*>(&gemm_b), "void gemm_b<int>(int, float)");
  fakehip_set_kernel_name(reinterpret_cast<const void*>(&tail_c), nullptr);  // no name
  hipStream_t s0, s1;
  hipStreamCreate(&s0);
  hipStreamCreate(&s1);
  std::thread t([&] {
    auto set_worker = lookup<int (*)(int)>("eclip_set_worker");
    CHECK(set_worker && set_worker(1) == 0);
    launch_fn(conv_a, 1, s1);  // position 0 (unnamed)
    launch_fn(conv_a, 2, s1);  // matches nothing at or after 1: app stream, cursor stays
    launch_fn(gemm_b, 3, s1);  // position 1
  });
  t.join();
  eclip_preload_counters c1 = counters(1);
  CHECK(c1.launches == 3 && c1.routed == 2 && c1.unplanned == 1 && c1.skipped == 0);
  CHECK(cus(stream_of_launch(1)) == 15 && stream_of_launch(2) == h(s1) && stream_of_launch(3) == stream_of_launch(1));
  // Worker 0: tail_c has no name, so it takes positions by count: 0 (1 SE) then 1 (1 SE).
  launch_fn(tail_c, 4, s0);
  launch_fn(tail_c, 5, s0);
  CHECK(cus(stream_of_launch(4)) == 15 && stream_of_launch(5) == stream_of_launch(4));
  eclip_preload_counters c0 = counters(0);
  CHECK(c0.routed == 2 && c0.skipped == 0 && c0.unplanned == 0);
  check_chain({{L, 1}, {L, 2}, {L, 3}});
  check_chain({{L, 4}, {L, 5}});
  return failures;
}

// ECLIP_REQUEST=api: launches past the plan stay on the app stream (said once) until the next
// eclip_begin_request.
int past_plan() {
  hipStream_t s0;
  hipStreamCreate(&s0);
  for (int k = 1; k <= 7; ++k) launch(k, s0);
  CHECK(stream_of_launch(5) == h(s0) && stream_of_launch(6) == h(s0) && stream_of_launch(7) == h(s0));
  auto begin = lookup<int (*)(void)>("eclip_begin_request");
  CHECK(begin && begin() == 0);
  launch(8, s0);
  CHECK(cus(stream_of_launch(8)) == 15);
  check_chain({{L, 1}, {L, 2}, {L, 3}, {L, 4}, {L, 5}, {L, 6}, {L, 7}, {L, 8}});
  eclip_preload_counters c = counters(0);
  CHECK(c.unplanned == 2 && c.routed == 5 && c.requests == 2);
  return failures;
}

// ECLIP_WORKER=1: the process is worker 1.
int env_worker() {
  hipStream_t s0;
  hipStreamCreate(&s0);
  launch(1, s0);
  CHECK(cus(stream_of_launch(1)) == 15);
  CHECK(counters(1).routed == 1 && counters(0).launches == 0);
  return failures;
}

// Every launch on the application's stream, no stream or event of eclip's: the program runs as
// without the interposer. `expect_active`: the plan loaded (unknown worker) or not.
int passthrough(bool expect_active) {
  hipStream_t s0, s1;
  hipStreamCreate(&s0);
  hipStreamCreate(&s1);
  launch(1, s0);
  ext_launch(2, s0);
  copy(100, s0);
  module_launch(3, s1);
  ext_module_launch(4, s1);
  launch(5, s0);
  launch(6, s0);
  CHECK(hipStreamSynchronize(s0) == hipSuccess);
  for (int k : {1, 2, 5, 6}) CHECK(stream_of_launch(k) == h(s0));
  for (int k : {3, 4}) CHECK(stream_of_launch(k) == h(s1));
  CHECK(count_kind(FAKEHIP_WAIT) == 0 && count_kind(FAKEHIP_RECORD) == 0);
  auto active = lookup<int (*)(int*)>("eclip_preload_active");
  int on = -1;
  if (active) CHECK(active(&on) == ECLIP_OK && on == (expect_active ? 1 : 0));
  if (!expect_active) {
    CHECK(fakehip_masked_streams() == 0);
    // Without a plan the calls say so, through eclip_last_error like libeclip_c's.
    auto begin = lookup<int (*)(void)>("eclip_begin_request");
    auto get = lookup<int (*)(int32_t, eclip_preload_counters*)>("eclip_preload_get_counters");
    auto message = lookup<const char* (*)(void)>("eclip_last_error");
    CHECK((begin && get && message) == (active != nullptr));  // all of them with the preload, none without
    if (begin && get && message) {
      CHECK(begin() == ECLIP_E_UNAVAILABLE);
      CHECK(std::strstr(message(), "no plan is active") != nullptr);
      eclip_preload_counters c{};
      CHECK(get(-1, &c) == ECLIP_E_UNAVAILABLE);
      CHECK(std::strstr(message(), "eclip_preload_get_counters: no plan is active") != nullptr);
    }
  }
  return failures;
}

// Two workers on two threads launching concurrently: each stream's order holds throughout.
int threads() {
  auto set_worker = lookup<int (*)(int)>("eclip_set_worker");
  CHECK(set_worker != nullptr);
  if (!set_worker) return failures;
  hipStream_t s[2];
  hipStreamCreate(&s[0]);
  hipStreamCreate(&s[1]);
  constexpr int kLaunches = 500;
  std::vector<std::thread> ts;
  for (int w = 0; w < 2; ++w)
    ts.emplace_back([w, &s, set_worker] {
      set_worker(w);
      for (int k = 0; k < kLaunches; ++k) {
        const int tag = 10000 * (w + 1) + k;
        if (k % 7 == 3) copy(tag, s[w]);
        else launch(tag, s[w]);
      }
    });
  for (auto& t : ts) t.join();
  for (int w = 0; w < 2; ++w) {
    std::vector<std::pair<int, int>> seq;
    for (int k = 0; k < kLaunches; ++k) seq.push_back({k % 7 == 3 ? C : L, 10000 * (w + 1) + k});
    check_chain(seq);
  }
  CHECK(counters(-1).routed > 0);
  return failures;
}
// Two threads of one worker launching into ONE application stream, with copies: the stream's work
// stays one chain (each launch or copy ordered after the one the stand-in saw before it), and the
// final sync comes after all of it.
int shared_stream() {
  hipStream_t s;
  hipStreamCreate(&s);
  constexpr int kItems = 600;
  std::vector<std::thread> ts;
  for (int t = 0; t < 2; ++t)
    ts.emplace_back([t, s] {
      for (int k = 0; k < kItems; ++k) {
        const int tag = 10000 * (t + 1) + k;
        if (k % 5 == 4) copy(tag, s);
        else launch(tag, s);
      }
    });
  for (auto& t : ts) t.join();
  CHECK(hipStreamSynchronize(s) == hipSuccess);
  auto o = ops();
  std::vector<long> items;
  long sync = -1;
  for (size_t i = 0; i < o.size(); ++i) {
    if (o[i].kind == L || o[i].kind == C) items.push_back(static_cast<long>(i));
    if (o[i].kind == FAKEHIP_SYNC) sync = static_cast<long>(i);
  }
  CHECK(items.size() == 2 * kItems);
  long broken = 0, moved = 0;
  for (size_t i = 1; i < items.size(); ++i) broken += !ordered(o, items[i - 1], items[i]);
  for (long i : items) moved += o[static_cast<size_t>(i)].stream != h(s);
  CHECK(broken == 0);
  CHECK(moved > 0);
  CHECK(ordered(o, items.back(), sync));
  return failures;
}
}  // namespace

int main(int argc, char** argv) {
  const std::string s = argc > 1 ? argv[1] : "";
  if (std::getenv("ECLIP_TRACE")) std::atexit(check_trace_closed_at_exit);
  int rc = -1;
  if (s == "route") rc = route();
  else if (s == "capture") rc = capture();
  else if (s == "past-plan") rc = past_plan();
  else if (s == "env-worker") rc = env_worker();
  else if (s == "passthrough") rc = passthrough(false);
  else if (s == "passthrough-active") rc = passthrough(true);
  else if (s == "threads") rc = threads();
  else if (s == "shared-stream") rc = shared_stream();
  else if (s == "names") rc = names(false);
  else if (s == "names-by-position") rc = names(true);
  else if (s == "names-edge") rc = names_edge();
  if (rc < 0) {
    std::fprintf(stderr, "usage: preload_test route|capture|past-plan|env-worker|passthrough|passthrough-active|threads|shared-stream|names|names-by-position|names-edge\n");
    return 2;
  }
  std::fprintf(stderr, "preload_test %s: %s\n", s.c_str(), rc == 0 ? "ok" : "FAILED");
  return rc == 0 ? 0 : 1;
}
