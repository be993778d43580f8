/* eclip hip backend: the C ABI (for Python ctypes and other languages).
 *
 * Small on purpose: create/destroy the backend, ask whether an AMD GPU is there, and route+launch
 * a kernel through a router. Pools, plans and routers come from the core (C++ or its C ABI); a
 * `router` argument here is an `eclip::KernelRouter*` and a backend converts to `eclip::Backend*`
 * with eclip_hip_backend_base() to build them.
 *
 * Every function returns 0 on success or a nonzero code: the eclip::Errc value (1 invalid
 * argument, 2 capacity, 3 parse, 4 backend, 5 unavailable) or -1 for an unexpected C++ exception.
 * eclip_hip_last_error() returns the message of the calling thread's last failure ("" if none);
 * the pointer stays valid until that thread's next eclip_hip_* call.
 *
 *   eclip_hip_backend* gpu = NULL;
 *   if (eclip_hip_backend_create(0, &gpu) != 0) { puts(eclip_hip_last_error()); return; }
 *   ... build a pool and router over eclip_hip_backend_base(gpu) ...
 *   void* args[] = {&d_x, &n};
 *   unsigned grid[3] = {64, 1, 1}, block[3] = {256, 1, 1};
 *   uint64_t stream = 0;
 *   eclip_hip_launch(router, worker, (const void*)my_kernel, grid, block, 0, args, &stream);
 */
#ifndef ECLIP_BACKEND_HIP_C_H
#define ECLIP_BACKEND_HIP_C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eclip_hip_backend eclip_hip_backend;

/* 0 when HIP sees an AMD GPU; otherwise 5 (unavailable) with the reason in eclip_hip_last_error(),
 * e.g. "no AMD GPU (hipGetDeviceCount = hipErrorNoDevice)". */
int eclip_hip_probe(void);

/* Creates the backend on HIP device `device` (eclip::hip::HipBackend with default options). */
int eclip_hip_backend_create(int device, eclip_hip_backend** out);
/* Destroys it (NULL is ignored). Destroy pools and routers built on it first. */
void eclip_hip_backend_destroy(eclip_hip_backend* backend);
/* The backend as an `eclip::Backend*`, for the core's pool and router constructors. */
void* eclip_hip_backend_base(eclip_hip_backend* backend);
/* The device topology: CUs, shader engines, and the device's short name ("MI50") into `name`
 * (NUL-terminated, truncated to `name_size`). Any out pointer may be NULL. */
int eclip_hip_backend_topology(eclip_hip_backend* backend, unsigned* compute_units, unsigned* shader_engines,
                               char* name, size_t name_size);

/* Routes the next kernel of `worker` through `router` (an eclip::KernelRouter*) and launches
 * `kernel` (a __global__ function's host address) with hipLaunchKernel. `args` holds one pointer
 * per kernel parameter. The stream it went to is stored in *stream_out (a hipStream_t) if not NULL. */
int eclip_hip_launch(void* router, unsigned worker, const void* kernel, const unsigned grid[3],
                     const unsigned block[3], size_t shared_bytes, void** args, uint64_t* stream_out);
/* As eclip_hip_launch for a hipFunction_t from hipModuleGetFunction, with hipModuleLaunchKernel;
 * `extra` is its HIP_LAUNCH_PARAM_* array or NULL. */
int eclip_hip_module_launch(void* router, unsigned worker, void* function, const unsigned grid[3],
                            const unsigned block[3], unsigned shared_bytes, void** args, void** extra,
                            uint64_t* stream_out);

/* The calling thread's last error message ("" if the last call succeeded). */
const char* eclip_hip_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* ECLIP_BACKEND_HIP_C_H */
