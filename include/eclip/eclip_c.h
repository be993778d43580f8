/* eclip_c.h: the one C ABI of eclip, for C programs, Python ctypes and other languages.
 *
 * libeclip_c.so implements everything here except the last section ("Transparent mode"), which
 * the preload interposers libeclip_preload.so (AMD) and libeclip_preload_cuda.so (NVIDIA)
 * export. Check the version at run time: eclip_abi_version() == ECLIP_C_ABI_VERSION.
 *
 * The objects are the C++ ones: a backend (the device: "sim", "cuda" or "hip"), a plan (per
 * worker, the partition each kernel group runs on; loaded from JSON or made by the planner from a
 * profile), a pool (every partition's stream, created once, up front) and a router (per launch,
 * the stream to use, with a barrier only when the worker's previous launch is on another stream
 * and not complete). Streams and graphs cross the ABI as raw handles in uint64_t: for "cuda" a
 * stream is a CUstream / cudaStream_t (in PyTorch: torch.cuda.ExternalStream(handle)) and a graph
 * exec a CUgraphExec / cudaGraphExec_t; for "hip" a hipStream_t and a hipGraphExec_t.
 *
 * Errors: every function returns ECLIP_OK (0) or an eclip_status code (the values of C++
 * eclip::Errc), and eclip_last_error() gives the calling thread's message for its last failed
 * call, naming the value at fault, e.g. "PartitionPool: the plan needs 16 CU-masked streams but
 * H100 holds at most 15 ...". A success clears it. The message is one per thread for the whole
 * process: a preload library and libeclip_c.so loaded together share it.
 *
 * Lifetime: handles may be destroyed in any order; an object lives until the last handle that
 * uses it is destroyed (a router keeps its pool, a pool its backend). Destroying NULL is a no-op.
 * Threads: route/begin_request/launch_* for one worker from one thread at a time; different
 * workers may run concurrently on the "cuda" and "hip" backends. The "sim" backend (and a "sim"
 * energy meter on it) is a single-threaded event loop: drive everything on it from one thread.
 *
 * Example (Python ctypes, two workers each on its own stream):
 *   lib = ctypes.CDLL("libeclip_c.so")
 *   be = ctypes.c_void_p(); check(lib.eclip_backend_create(b"cuda", ctypes.byref(be)))
 *   plan = ctypes.c_void_p(); check(lib.eclip_plan_from_file(be, b"plan.json", ctypes.byref(plan)))
 *   pool = ctypes.c_void_p(); check(lib.eclip_pool_create(be, plan, ctypes.byref(pool)))
 *   rt = ctypes.c_void_p(); check(lib.eclip_router_create(pool, plan, -1, ctypes.byref(rt)))
 *   r = eclip_route()
 *   lib.eclip_router_begin_request(rt, 0)
 *   for layer in model:                      # one routable unit each
 *       check(lib.eclip_router_route(rt, 0, ctypes.byref(r)))
 *       with torch.cuda.stream(torch.cuda.ExternalStream(r.stream)): layer(x)
 * where check(rc) raises RuntimeError(lib.eclip_last_error()) when rc != 0.
 * In C (AMD: "hip" instead of "cuda"; the launch is the same call):
 *   eclip_backend* be; eclip_plan* plan; eclip_pool* pool; eclip_router* rt; eclip_route r;
 *   if (eclip_backend_create("cuda", &be) != ECLIP_OK) { fprintf(stderr, "%s\n", eclip_last_error()); return 1; }
 *   eclip_plan_from_file(be, "plan.json", &plan);
 *   eclip_pool_create(be, plan, &pool);
 *   eclip_router_create(pool, plan, -1, &rt);
 *   eclip_router_begin_request(rt, 0);
 *   void* args[] = {&d_x, &n};
 *   const uint32_t grid[3] = {64, 1, 1}, block[3] = {256, 1, 1};
 *   eclip_router_launch_kernel(rt, 0, (const void*)my_kernel, grid, block, 0, args, &r);
 *   eclip_router_destroy(rt); eclip_pool_destroy(pool); eclip_plan_destroy(plan); eclip_backend_destroy(be);
 */
#ifndef ECLIP_ECLIP_C_H
#define ECLIP_ECLIP_C_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define ECLIP_C_API
#else
#define ECLIP_C_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped when a signature or struct layout changes. 2: the planner, kernel launch, graph launch
 * for "hip", partition contexts, and the preload's calls (formerly preload.h, with status codes);
 * include/eclip/backend/hip_c.h is gone (use eclip_backend_create("hip") and the launch calls).
 * 3: plans with home ranges (static splits), eclip_plan_from_candidate, eclip_search with the
 * caller's evaluator, eclip_string_free; eclip_plan_make's "eclip" is the co-location planner and
 * the budget optimizer is "eclip-budget". */
#define ECLIP_C_ABI_VERSION 3

/* Return codes: ECLIP_OK or an eclip::Errc value; ECLIP_E_INTERNAL for anything unexpected. */
enum eclip_status {
  ECLIP_OK = 0,
  ECLIP_E_INVALID_ARGUMENT = 1, /* a value outside its documented range (NULL, worker id, ...) */
  ECLIP_E_CAPACITY = 2,         /* more partitions than the device's queue limit */
  ECLIP_E_PARSE = 3,            /* malformed plan JSON; the message names the field */
  ECLIP_E_BACKEND = 4,          /* a GPU API call failed; the message names the call */
  ECLIP_E_UNAVAILABLE = 5,      /* backend or device missing at run time (e.g. no NVIDIA driver) */
  ECLIP_E_INTERNAL = 99         /* out of memory or another unexpected failure */
};

/* eclip_route.flags */
#define ECLIP_ROUTE_SWITCHED 0x1u /* the previous launch of this worker went to another stream */
#define ECLIP_ROUTE_BARRIER 0x2u  /* ... and had not completed, so this stream waits for it */

/* eclip_route.status (C++ eclip::RouteStatus) */
enum eclip_route_status {
  ECLIP_ROUTED = 0,        /* on the plan's partition */
  ECLIP_NO_PLAN_ENTRY = 1, /* the request ran past the plan: on the worker's fallback stream */
  ECLIP_BACKEND_ERROR = 2, /* a marker/barrier call failed: stayed on the previous stream */
  ECLIP_BUDGET_HELD = 3    /* the online switch budget was spent: stayed on the current partition */
};

typedef struct eclip_route {
  uint64_t stream; /* raw stream to launch on (CUstream for "cuda", hipStream_t for "hip", a queue id for "sim") */
  uint32_t kernel; /* position of this unit in the worker's current request */
  uint16_t slot;   /* pool slot of the stream (0 = the worker's whole-device fallback) */
  uint16_t status; /* enum eclip_route_status */
  uint32_t flags;  /* ECLIP_ROUTE_* bits */
  uint32_t reserved;
} eclip_route;

typedef struct eclip_counters {
  uint64_t requests, launches, switches, barriers;
  uint64_t unrouted, backend_errors, budget_held;
} eclip_counters;

typedef struct eclip_topology_info {
  char name[64];               /* topology name plans refer to, e.g. "H100" */
  char device[128];            /* full device name, e.g. "NVIDIA H100 80GB HBM3" ("" for sim) */
  uint32_t units;              /* SMs (NVIDIA) or CUs (AMD) */
  uint32_t groups;             /* atoms / shader engines */
  uint32_t max_masked_streams; /* the pool's queue limit */
  uint32_t vendor;             /* 0 AMD, 1 NVIDIA */
} eclip_topology_info;

typedef struct eclip_backend eclip_backend;
typedef struct eclip_plan eclip_plan;
typedef struct eclip_pool eclip_pool;
typedef struct eclip_router eclip_router;

/* ECLIP_C_ABI_VERSION of the library loaded (compare with the header's). */
ECLIP_C_API int eclip_abi_version(void);
/* The library's version, e.g. "0.2.0". */
ECLIP_C_API const char* eclip_version(void);
/* The calling thread's message for its last failed call ("" after a success). Valid until the
 * thread's next eclip call. Exported by libeclip_c.so and by the preload libraries; in a process
 * with several of them every one reads and writes the same per-thread message. */
ECLIP_C_API const char* eclip_last_error(void);
/* "ok", "invalid_argument", "capacity", "parse", "backend", "unavailable", "internal". */
ECLIP_C_API const char* eclip_status_name(int code);

/* spec: "cuda" or "cuda:<ordinal>" (NVIDIA green contexts, needs the NVIDIA driver), "hip" or
 * "hip:<ordinal>" (AMD CU-masked streams, needs ROCm and an AMD GPU), "sim" or "sim:<preset>"
 * (the simulated device, e.g. "sim:h100", "sim:mi50"; "sim" is "sim:h100"). A vendor this library
 * was built without, or whose device is missing, is ECLIP_E_UNAVAILABLE with the reason. */
ECLIP_C_API int eclip_backend_create(const char* spec, eclip_backend** out);
ECLIP_C_API void eclip_backend_destroy(eclip_backend* backend);
ECLIP_C_API int eclip_backend_topology(const eclip_backend* backend, eclip_topology_info* out);

/* A plan (format "eclip.plan", version 1) validated against the backend's topology. A file that
 * cannot be read is ECLIP_E_INVALID_ARGUMENT naming the path and the reason. */
ECLIP_C_API int eclip_plan_from_json(const eclip_backend* backend, const char* json_text, eclip_plan** out);
ECLIP_C_API int eclip_plan_from_file(const eclip_backend* backend, const char* path, eclip_plan** out);
ECLIP_C_API void eclip_plan_destroy(eclip_plan* plan);
ECLIP_C_API int eclip_plan_workers(const eclip_plan* plan, uint32_t* out);
/* The plan's JSON text (format "eclip.plan"), NUL-terminated. buf may be NULL (with size 0): then
 * only *needed is set, to the size including the NUL. A buf smaller than that is
 * ECLIP_E_INVALID_ARGUMENT with *needed set and buf untouched. needed may be NULL. */
ECLIP_C_API int eclip_plan_to_json(const eclip_plan* plan, char* buf, size_t size, size_t* needed);
/* Writes the plan's JSON to `path` atomically: a temporary file next to it, then rename. On any
 * failure (ECLIP_E_INVALID_ARGUMENT naming the path and the reason, e.g. "No space left on
 * device") the old file is intact and no temporary file is left behind. */
ECLIP_C_API int eclip_plan_write(const eclip_plan* plan, const char* path);

/* ---- Planner: profile + mix -> plan ------------------------------------------------------------
 * A profile (format "eclip.profile", written by `eclip plan --save-profile` or `eclip profile`)
 * holds, per model and kernel, its time on each size class of one device.
 *
 *   eclip_profile* prof; eclip_plan* plan;
 *   const char* models[] = {"albert", "vgg19"};
 *   eclip_profile_from_file("profile.json", &prof);
 *   eclip_plan_make(be, prof, models, 2, "eclip", -1, -1.0, &plan);   // default budget, tolerance
 *   eclip_plan_write(plan, "plan.json");
 */
typedef struct eclip_profile eclip_profile;
ECLIP_C_API int eclip_profile_from_json(const char* json_text, eclip_profile** out);
ECLIP_C_API int eclip_profile_from_file(const char* path, eclip_profile** out);
ECLIP_C_API void eclip_profile_destroy(eclip_profile* profile);
/* strategy: "baseline" (every worker on the whole device), "model-wise" (an equal size class
 * each), "static-equal" (the equal split of every group into per-worker homes), "kernel-wise"
 * (each kernel on its minimum-threshold partition), "eclip-budget" (ECLIP's optimizer under the
 * switch budget) or "eclip" (the co-location planner: the plan space searched with the device's
 * co-location model, objective throughput under Baseline's predicted fairness). models: one
 * worker each, names in the profile. switch_budget: most switches per request for "eclip" and
 * "eclip-budget", -1 for the default (14); ignored by the others. tolerance:
 * the minimum-threshold tolerance (a kernel's partition may be this fraction slower than on the
 * whole device), < 0 for the default (0.10); NaN or infinite is ECLIP_E_INVALID_ARGUMENT. The
 * profile's device must be the backend's, and the plan is validated against its topology (e.g.
 * more masked streams than the device holds is ECLIP_E_CAPACITY or ECLIP_E_INVALID_ARGUMENT
 * with the count). */
ECLIP_C_API int eclip_plan_make(const eclip_backend* backend, const eclip_profile* profile, const char* const* models,
                                size_t model_count, const char* strategy, int64_t switch_budget, double tolerance,
                                eclip_plan** out);
/* The paper's seven default mixes (`eclip simulate`'s and `eclip plan`'s), as the mix-file
 * document {"format": "eclip.mix", "version": 1, "mixes": [{"name": "mix1", "models": [...]},
 * ...]} in *json, to free with eclip_string_free: the one list tools name mixes by. */
ECLIP_C_API int eclip_default_mixes(char** json);

/* ---- Plan space and search (static splits, per-group moves, the closed-loop tuner) -------------
 * spec_json describes the space: {"models": ["albert", ...], "segments": [[positions per
 * segment], ...] (per worker; a segment is the unit a move places), "switch_budget": N or
 * "unlimited" (default)}. A candidate: {"split": [5, 4, 4, 3]} (home groups per worker, laid out
 * from group 0; every segment at home), optionally "segment": [[0, 16, 0], ...] (per segment: 0 =
 * its home, else a partition of that many groups grown from the home's start), or {"split": []}
 * for every worker on the whole device. Errors name the field and the value. */
ECLIP_C_API int eclip_plan_from_candidate(const eclip_backend* backend, const char* spec_json,
                                          const char* candidate_json, const char* strategy, eclip_plan** out);

/* What an evaluator reports for one plan: per worker requests/s and p95 latency (arrays of
 * `workers`, owned by the library), the device's average power (0 if unknown) and the window's
 * length. error: the evaluator may point it at a message (valid until it returns). */
typedef struct eclip_evaluation {
  double* throughput_rps;
  double* p95_ms;
  uint32_t workers;
  double power_w;
  double window_s;
  const char* error;
} eclip_evaluation;
/* Runs (e.g. measures on the GPU) `plan`, the candidate `candidate_json`; returns 0, or non-zero
 * when it could not (the trial is kept as failed and the search goes on). */
typedef int (*eclip_evaluate_fn)(void* user, const eclip_plan* plan, const char* candidate_json, eclip_evaluation* out);
/* The local search of eclip/planner/search.hpp with the caller's evaluator: from the start
 * candidates (spec "starts": [...], default the shared plan and the equal split), local moves (an
 * atom between homes, a free group to a home or a home's group left idle, a segment one size up or
 * down, a worker unconfined or confined; first those toward a worker that breaks a constraint:
 * more SMs for it, or fewer other workers' segments on its SMs) until none
 * beats the best by more than the noise band. spec_json adds to the space: "objective":
 * {"kind": "throughput" | "energy" | "normalized", "alone_rps": [...], "jain_floor": x,
 * "p95_limit_ms": [...], "tolerance": t (the constraints hold within this relative margin; a tuner
 * passes its noise band)} and "search":
 * {"noise": 0.02, "per_round": 8, "max_rounds": 50, "max_trials": 400, "time_limit_s": 0};
 * "predictor": {"profile": PATH, "starts": [...]} (a profile of these models on the backend's
 * device): the co-location model ranks each round's neighbours (the best per_round are
 * evaluated), and its picks join the starts, each under the objective's p95 limits (its Jain
 * floor: the model's Baseline's), not a start already and as this space spells it: "static" (its
 * best static split, every one predicted), "static-other" (the same under the other of throughput
 * and energy), "plan" (its best plan with per-segment moves, grown from "static" when that is
 * asked for too), "plan-other"; default ["static", "static-other", "plan"].
 * The best: the search's best, or a plan within the noise band of its value with more of the
 * objective's secondary (inferences/J for throughput and normalized, throughput for energy) by
 * more than the band ("pick" in the report says which).
 * best (may be NULL): the best plan (strategy "eclip-tuned"). report_json (may be NULL): the whole
 * result as JSON ("format": "eclip.search": every trial, its measurement, the time, why it
 * stopped, the pick), to free with eclip_string_free. */
ECLIP_C_API int eclip_search(const eclip_backend* backend, const char* spec_json, eclip_evaluate_fn evaluate,
                             void* user, eclip_plan** best, char** report_json);
/* One evaluation judged by an objective (objective_json: eclip_search's spec "objective", for
 * evaluation->workers workers): *value its value without the constraints, *score the same or
 * -infinity when a constraint is broken or the energy objective has no power reading; why (may
 * be NULL): which of those, "" when none, to free with eclip_string_free. What a serving loop
 * compares a new window with (drift). */
ECLIP_C_API int eclip_objective_score(const char* objective_json, const eclip_evaluation* evaluation, double* value,
                                      double* score, char** why);
/* How far one evaluation is from keeping the objective's constraints (objective_json as for
 * eclip_objective_score): *violation 0 when it keeps them, else the sum of the relative shortfalls
 * beyond the tolerance (the Jain floor's, (floor - index) / floor, and each p95 limit's,
 * p95 / limit - 1), infinity when the energy objective has no power reading. What the search
 * ranks plans that keep no constraint by (the least broken first); a search of one's own (a
 * measured static split under a latency limit) ranks by it the same way. */
ECLIP_C_API int eclip_objective_violation(const char* objective_json, const eclip_evaluation* evaluation,
                                          double* violation);
ECLIP_C_API void eclip_string_free(char* s);
/* The statistics runs are reported with, the simulator's and the planner's definitions (for a
 * measured run: Python's eclip.stats). eclip_percentile: the nearest-rank q-quantile (q in [0, 1];
 * the smallest value with at least q of them at or below it) of n > 0 values. eclip_jain_index:
 * (sum x)^2 / (n sum x^2), 0 for no values or all zero. A NULL pointer with n > 0, n = 0 for a
 * percentile, a NaN value in a percentile, or q outside [0, 1] is ECLIP_E_INVALID_ARGUMENT. */
ECLIP_C_API int eclip_percentile(const double* values, size_t n, double q, double* out);
ECLIP_C_API int eclip_jain_index(const double* values, size_t n, double* out);
/* The co-location model's prediction for `plan` (its workers' models, times from `profile`): the
 * simulated device of the plan's topology (its preset, e.g. "H200"), with device_json (may be
 * NULL) overriding {"fair_share", "bandwidth_slowdown", "demand_tolerance", "static_w", "unit_active_w",
 * "unit_idle_w", "duration_ms", "warmup_ms", "seed"}. out->workers must be the plan's worker
 * count; throughput_rps (and p95_ms unless NULL) are filled, with power_w and window_s. */
ECLIP_C_API int eclip_predict(const eclip_profile* profile, const eclip_plan* plan, const char* device_json,
                              eclip_evaluation* out);

/* Creates every stream the plan needs (one pool worker per plan worker), or none: on failure
 * nothing is left behind. */
ECLIP_C_API int eclip_pool_create(eclip_backend* backend, const eclip_plan* plan, eclip_pool** out);
ECLIP_C_API void eclip_pool_destroy(eclip_pool* pool);
ECLIP_C_API int eclip_pool_slot_count(const eclip_pool* pool, uint32_t worker, uint32_t* out);
/* Slot `slot` of `worker`: its raw stream and partition size in groups (slot 0: whole device). */
ECLIP_C_API int eclip_pool_slot(const eclip_pool* pool, uint32_t worker, uint32_t slot, uint64_t* stream,
                                uint32_t* groups);
/* Makes slot `slot` of `worker`'s context current on the calling thread. "cuda": the slot's green
 * context (the primary context for slot 0) is pushed with cuCtxPushCurrent, so that work the
 * caller issues in between (graph capture, cuDNN/cuBLAS internal streams) stays inside the
 * partition; pop restores the previous context (cuCtxPopCurrent). Pair every push with a pop on
 * the same thread. Slots on the same SMs share one green context, in every pool of the backend, and
 * the driver lets a green context be current to one thread at a time: a push while another thread
 * has it pushed waits for that thread's pop, and fails with ECLIP_E_INVALID_ARGUMENT after 30 s.
 * "sim" and "hip" (a CU-masked stream has no context of its own): no-ops that succeed. */
ECLIP_C_API int eclip_pool_slot_push_context(eclip_pool* pool, uint32_t worker, uint32_t slot);
ECLIP_C_API int eclip_pool_slot_pop_context(eclip_pool* pool);
/* A stream of slot `slot`'s partition to capture graphs on, kept by the backend: one per
 * (partition, owner), made on first use and destroyed with the backend, not with the pool.
 * Capturing on it (its context pushed with eclip_pool_slot_push_context) rather than on the pool's
 * slot stream makes what libraries keep per (thread, stream) once per partition and owner instead
 * of once per pool: PyTorch keeps a cuBLAS and a cuBLASLt workspace per (handle, stream), 32 MiB
 * each on Hopper, until the process ends (measured on the H200: 260 MiB per four-worker pool,
 * docs/cuda.md). A graph captured on it runs on the slot's partition wherever it is launched
 * ("cuda": the same green context as the slot's stream). owner: the caller's key for who replays
 * the graphs (a worker); graphs of different owners never share a stream, so graphs replayed at
 * the same time never share what was made for one. "sim": a stream of the simulated device. */
ECLIP_C_API int eclip_pool_slot_capture_stream(eclip_pool* pool, uint32_t worker, uint32_t slot, uint64_t owner,
                                               uint64_t* stream);

/* switch_budget: most switches per request enforced online, or -1 for none (the plan's own). */
ECLIP_C_API int eclip_router_create(eclip_pool* pool, const eclip_plan* plan, int64_t switch_budget,
                                    eclip_router** out);
ECLIP_C_API void eclip_router_destroy(eclip_router* router);
ECLIP_C_API int eclip_router_begin_request(eclip_router* router, uint32_t worker);
/* Routes the worker's next unit. Backend failures do not fail the call: the unit stays on the
 * previous stream (order kept) and out->status says so. */
ECLIP_C_API int eclip_router_route(eclip_router* router, uint32_t worker, eclip_route* out);
/* Kernel launch, both vendors: routes the worker's next unit and launches one kernel on the
 * routed stream. grid and block: x, y, z. args: one pointer per kernel parameter.
 *   kernel: a __global__ function's host address. "cuda": cudaLaunchKernel of the CUDA runtime
 *     the process has loaded globally (libcudart.so; the runtime that registered the kernel: a
 *     program linked with the static runtime must use eclip_router_launch_function);
 *     "hip": hipLaunchKernel.
 *   function: a CUfunction (cuLaunchKernel) or hipFunction_t (hipModuleLaunchKernel); extra is
 *     its CU_LAUNCH_PARAM_* / HIP_LAUNCH_PARAM_* array, or NULL.
 * Like route: a unit the router cannot place still runs (on the fallback or previous stream, as
 * out->status says). Arguments are checked before routing; once routed, *out (may be NULL) holds
 * the decision even when the launch itself fails (ECLIP_E_BACKEND naming the call). On "sim":
 * ECLIP_E_UNAVAILABLE ("the sim backend runs no kernels"), nothing routed. */
ECLIP_C_API int eclip_router_launch_kernel(eclip_router* router, uint32_t worker, const void* kernel,
                                           const uint32_t grid[3], const uint32_t block[3], size_t shared_bytes,
                                           void** args, eclip_route* out);
ECLIP_C_API int eclip_router_launch_function(eclip_router* router, uint32_t worker, void* function,
                                             const uint32_t grid[3], const uint32_t block[3], uint32_t shared_bytes,
                                             void** args, void** extra, eclip_route* out);
/* Routes the worker's next unit and launches a graph exec on its stream ("cuda": cuGraphLaunch,
 * "hip": hipGraphLaunch). A graph's kernels run where they were captured, so pass either one exec
 * per pool slot of the worker (count = eclip_pool_slot_count; execs[i] captured on slot i's
 * stream, with the slot's context pushed), launched by slot, or count = 1 for one exec launched
 * whatever the slot. "sim": ECLIP_E_UNAVAILABLE. */
ECLIP_C_API int eclip_router_launch_graph(eclip_router* router, uint32_t worker, const uint64_t* graph_execs,
                                          size_t count, eclip_route* out);
/* Launches a whole request (or any run of units) in one call: for unit i = 0 .. units-1, routes the
 * worker's next unit and launches execs[i * stride + (stride == 1 ? 0 : route.slot)] on the routed
 * stream. stride = 1: one exec per unit, whatever the slot; stride = eclip_pool_slot_count: one exec
 * per unit and slot (captured on that slot's partition). routes, if not NULL, receives the units'
 * decisions (units entries). Validates every argument before routing anything; a failed launch stops
 * the run there (the units before it are launched) and is returned as ECLIP_E_BACKEND. "cuda" and
 * "hip" only. One FFI call per request instead of one per unit: from Python the host cost per unit
 * is the router's and the driver's alone, and the GIL is not held while it runs (ctypes.CDLL). */
ECLIP_C_API int eclip_router_launch_graphs(eclip_router* router, uint32_t worker, const uint64_t* graph_execs,
                                           size_t units, size_t stride, eclip_route* routes);
/* worker = -1: the sum over all workers. */
ECLIP_C_API int eclip_router_counters(const eclip_router* router, int32_t worker, eclip_counters* out);

/* ---- Energy (include/eclip/energy/energy_meter.hpp) -------------------------------------------------
 * A device's cumulative energy counter, read at the edges of a window. Each edge first calls the
 * caller's synchronise hook (e.g. cudaDeviceSynchronize / torch.cuda.synchronize), so the window
 * holds exactly the work submitted inside it, then, by default, waits for the counter's next update
 * (NVML moves every 20-100 ms) and takes that moment as the edge.
 *
 *   eclip_energy_meter* m;
 *   if (eclip_energy_create("nvml", NULL, &m) != ECLIP_OK) puts(eclip_last_error());
 *       // e.g. "nvml: dlopen libnvidia-ml.so.1: libnvidia-ml.so.1: cannot open shared object file: ..."
 *   eclip_energy_window idle, w;
 *   eclip_energy_idle(m, 2.0, sync, NULL, &idle);      // idle power: report it beside the result
 *   eclip_energy_begin(m, sync, NULL);  ...run...  eclip_energy_end(m, sync, NULL, &w);
 *   printf("%.1f J in %.3f s = %.1f W\n", w.joules, w.seconds, w.avg_power_w);
 * From Python: SYNC = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p); keep the callback object alive. */
typedef struct eclip_energy_meter eclip_energy_meter;
typedef struct eclip_energy_window {
  double seconds;     /* between the two edges */
  double joules;      /* counter difference */
  double avg_power_w; /* joules / seconds */
  double start_j, end_j; /* raw counter at the edges */
  double edge_wait_s; /* time the edges spent waiting for a counter update */
  uint32_t aligned;   /* 1: both edges fell on counter updates */
  uint32_t reserved;
} eclip_energy_window;
/* The synchronise hook: returns 0, or non-zero to fail the call (ECLIP_E_BACKEND). May be NULL. */
typedef int (*eclip_sync_fn)(void* user);

/* spec: "nvml" or "nvml:<NVML index>" (NVIDIA, libnvidia-ml.so.1 loaded at run time),
 * "rocm_smi" or "rocm_smi:<index>" (AMD, librocm_smi64.so.1; only where built with rocm_smi.h),
 * "sim" (the simulated device of `backend`, which must be a "sim" backend: its energy model, its
 * clock, and idle windows that advance it). backend may be NULL except for "sim".
 * An unusable counter is ECLIP_E_UNAVAILABLE with the reason in eclip_last_error(). */
ECLIP_C_API int eclip_energy_create(const char* spec, eclip_backend* backend, eclip_energy_meter** out);
ECLIP_C_API void eclip_energy_destroy(eclip_energy_meter* meter);
/* "<kind>: <device name>", e.g. "nvml: NVIDIA H100 80GB HBM3", truncated to size - 1 characters. */
ECLIP_C_API int eclip_energy_describe(const eclip_energy_meter* meter, char* buf, size_t size);
/* The raw counter in joules; power_w (may be NULL) gets the current draw, or NaN where the source has none. */
ECLIP_C_API int eclip_energy_read(eclip_energy_meter* meter, double* joules, double* power_w);
/* align: 1 waits for a counter update at each edge (the default for nvml and rocm_smi), 0 does not;
 * poll_s > 0 is the polling interval while waiting, timeout_s >= 0 how long an edge waits at most. */
ECLIP_C_API int eclip_energy_set_alignment(eclip_energy_meter* meter, int align, double poll_s, double timeout_s);
ECLIP_C_API int eclip_energy_begin(eclip_energy_meter* meter, eclip_sync_fn sync, void* user);
ECLIP_C_API int eclip_energy_end(eclip_energy_meter* meter, eclip_sync_fn sync, void* user, eclip_energy_window* out);
/* A window of about `seconds` in which the caller launches nothing: idle power. */
ECLIP_C_API int eclip_energy_idle(eclip_energy_meter* meter, double seconds, eclip_sync_fn sync, void* user,
                                  eclip_energy_window* out);

/* ---- Transparent mode (docs/transparent.md) --------------------------------------------------------
 * Exported by the preload interposers libeclip_preload.so (AMD) and libeclip_preload_cuda.so
 * (NVIDIA), NOT by libeclip_c.so; same status codes, and eclip_last_error() (which the preload
 * libraries export too) gives the message. An unmodified application needs none of them:
 * ECLIP_WORKER gives the process's worker and each worker's request restarts when its launches
 * reach the plan's kernel count (ECLIP_REQUEST=count). A server that runs several workers as
 * threads in one process, or wants exact request boundaries, calls them; find them at run time so
 * the program still runs without the preload:
 *
 *   typedef int (*set_worker_fn)(int);
 *   set_worker_fn set_worker = (set_worker_fn)dlsym(RTLD_DEFAULT, "eclip_set_worker");
 *   if (set_worker && set_worker(1) != ECLIP_OK) puts(eclip_last_error());   // this thread is worker 1
 *
 * or from Python: lib = ctypes.CDLL(None); lib.eclip_set_worker(1) (AttributeError without the
 * preload); lib.eclip_last_error.restype = ctypes.c_char_p. */
typedef struct eclip_preload_counters {
  uint64_t launches;    /* launches seen (captured ones included) */
  uint64_t routed;      /* sent to a planned partition stream */
  uint64_t kept;        /* planned on the whole device: left on the application's stream */
  uint64_t unplanned;   /* beyond the plan, worker unknown, or not routable: on the app's stream */
  uint64_t captured;    /* issued into a stream capture: passed through, no request position */
  uint64_t switches;    /* the application stream's work moved to another stream */
  uint64_t barriers;    /* of those, a wait was enqueued (the predecessor had not completed) */
  uint64_t joins;       /* non-kernel operations that had to wait for routed work first */
  uint64_t requests;    /* requests begun (eclip_begin_request or the plan's kernel count) */
  uint64_t skipped;     /* plan positions passed over: kernels the plan names that never reached the
                           interposer (launched by a library's own static runtime) */
  uint64_t eclip_ns;    /* with ECLIP_STATS=1: host time spent in eclip's own code around these launches
                           (deciding, ordering, the eager join; the vendor's launch call and AMD's lazy
                           joins of non-kernel calls excluded), in ns */
} eclip_preload_counters;
/* Fields are only ever appended: build against the eclip_c.h of the library you load (a caller
   compiled against an older, shorter struct would be written past its end). */

/* The calling thread's worker (0-based plan worker), or -1 to go back to ECLIP_WORKER;
 * < -1 is ECLIP_E_INVALID_ARGUMENT. A worker the plan does not have passes through (said once
 * on stderr). */
ECLIP_C_API int eclip_set_worker(int worker);
/* *out = the calling thread's worker (eclip_set_worker, else ECLIP_WORKER, else 0). */
ECLIP_C_API int eclip_get_worker(int* out);
/* The calling thread's worker starts a new request: its next launch is the plan's kernel 0.
 * ECLIP_E_UNAVAILABLE when no plan is active (launches pass through). */
ECLIP_C_API int eclip_begin_request(void);
/* *out = 1 when launches are routed by a plan, 0 when everything passes through (the reason
 * was said once on stderr). */
ECLIP_C_API int eclip_preload_active(int* out);
/* worker = -1: the sum over all workers. ECLIP_E_UNAVAILABLE when no plan is active,
 * ECLIP_E_INVALID_ARGUMENT for a worker the plan does not have. */
ECLIP_C_API int eclip_preload_get_counters(int32_t worker, eclip_preload_counters* out);

#ifdef __cplusplus
}
#endif

#endif /* ECLIP_ECLIP_C_H */
