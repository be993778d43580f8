/* eclip/preload.h: the few calls libeclip_preload.so (AMD) and libeclip_preload_cuda.so (NVIDIA)
 * export besides the launch entry points they interpose (docs/transparent.md).
 *
 * An unmodified application needs none of them: ECLIP_WORKER gives the process's worker and each
 * worker's request restarts when its launches reach the plan's kernel count (ECLIP_REQUEST=count).
 * A server that runs several workers as threads in one process, or wants exact request
 * boundaries, calls them; find them at run time so the program still runs without the preload:
 *
 *   typedef int (*set_worker_fn)(int);
 *   set_worker_fn set_worker = (set_worker_fn)dlsym(RTLD_DEFAULT, "eclip_set_worker");
 *   if (set_worker) set_worker(1);            // this thread is worker 1
 *
 * or from Python: ctypes.CDLL(None).eclip_set_worker(1) (AttributeError without the preload).
 */
#ifndef ECLIP_PRELOAD_H
#define ECLIP_PRELOAD_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The calling thread's worker (0-based plan worker), or -1 to go back to ECLIP_WORKER. Returns 0,
 * or -1 if worker < -1. A worker the plan does not have passes through (said once on stderr). */
int eclip_set_worker(int worker);
/* The worker of the calling thread (eclip_set_worker, else ECLIP_WORKER, else 0). */
int eclip_get_worker(void);
/* The calling thread's worker starts a new request: its next launch is the plan's kernel 0. */
int eclip_begin_request(void);
/* 1 when launches are routed by a plan, 0 when everything passes through (the reason was printed). */
int eclip_preload_active(void);

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
                           interposer (launched by a library's own static runtime), see kernel_names */
  uint64_t eclip_ns;    /* with ECLIP_STATS=1: host time spent in eclip's own code around these launches
                           (deciding, ordering, the eager join; the vendor's launch call and AMD's lazy
                           joins of non-kernel calls excluded), in ns */
} eclip_preload_counters;
/* Fields are only ever appended: build against the preload.h of the library you load (a caller
   compiled against an older, shorter struct would be written past its end). */
/* worker = -1: the sum over all workers. Returns 0, or -1 when no plan is active / bad worker. */
int eclip_preload_get_counters(int32_t worker, eclip_preload_counters* out);

#ifdef __cplusplus
}
#endif

#endif /* ECLIP_PRELOAD_H */
