// context_handoff: what it costs to hand a chain of dependent kernels back and forth between
// streams of different contexts, the pattern transparent mode produces on NVIDIA (the
// application's stream lives in the primary context, partitions in green contexts; every routed
// kernel is joined back with an event). Plain CUDA + driver API, no eclip code.
//   context_handoff [kernels = 4000] [spin_ns = 5000]
// Each mode runs `kernels` launches of a kernel spinning spin_ns on one block, each depending on
// the previous one (events across streams, as eclip's eager join), and prints the wall time per
// kernel after a synchronize:
//   one-stream     every kernel on the primary-context stream S (no handoff)
//   primary-green  kernels alternate between S and a 64-SM green-context stream P
//   green-green    the same between a whole-device green-context stream G and P
//   green-joined   every kernel on P; S waits on each (eager join) and P on S before the next
// Prints "HANDOFF {json}".
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <cuda.h>
#include <cuda_runtime.h>

__global__ void spin_kernel(unsigned long long ns) {
  unsigned long long t0;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
  for (;;) {
    unsigned long long t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    if (t - t0 >= ns) break;
  }
}

#define CK(call)                                                                            \
  do {                                                                                      \
    CUresult r_ = (call);                                                                   \
    if (r_ != CUDA_SUCCESS) {                                                               \
      const char* s_ = nullptr;                                                             \
      cuGetErrorName(r_, &s_);                                                              \
      std::fprintf(stderr, "context_handoff: %s failed: %s\n", #call, s_ ? s_ : "?");       \
      std::exit(1);                                                                         \
    }                                                                                       \
  } while (0)
#define RK(call)                                                                            \
  do {                                                                                      \
    cudaError_t r_ = (call);                                                                \
    if (r_ != cudaSuccess) {                                                                \
      std::fprintf(stderr, "context_handoff: %s failed: %s\n", #call, cudaGetErrorString(r_)); \
      std::exit(1);                                                                         \
    }                                                                                       \
  } while (0)

static CUstream green_stream(CUdevice dev, unsigned sms) {
  CUdevResource all{};
  CK(cuDeviceGetDevResource(dev, &all, CU_DEV_RESOURCE_TYPE_SM));
  CUdevResource part = all, rest{};
  unsigned groups = 1;
  if (sms < all.sm.smCount) CK(cuDevSmResourceSplitByCount(&part, &groups, &all, &rest, 0, sms));
  CUdevResourceDesc desc = nullptr;
  CK(cuDevResourceGenerateDesc(&desc, &part, 1));
  CUgreenCtx g = nullptr;
  CK(cuGreenCtxCreate(&g, desc, dev, CU_GREEN_CTX_DEFAULT_STREAM));
  CUstream s = nullptr;
  CK(cuGreenCtxStreamCreate(&s, g, CU_STREAM_NON_BLOCKING, 0));
  return s;
}

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 4000;
  const unsigned long long spin = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 5000;
  if (n <= 0) return 2;
  RK(cudaFree(nullptr));  // the primary context, current in this thread
  CUdevice dev = 0;
  CK(cuCtxGetDevice(&dev));
  cudaStream_t S = nullptr;
  RK(cudaStreamCreateWithFlags(&S, cudaStreamNonBlocking));
  CUstream P = green_stream(dev, 64), G = green_stream(dev, 1u << 20);
  std::vector<CUevent> ev(64);
  for (CUevent& e : ev) CK(cuEventCreate(&e, CU_EVENT_DISABLE_TIMING));
  int next = 0;
  auto hand = [&](CUstream from, CUstream to) {  // `to` waits for everything on `from`
    CUevent e = ev[next++ % ev.size()];
    CK(cuEventRecord(e, from));
    CK(cuStreamWaitEvent(to, e, 0));
  };
  auto launch = [&](CUstream s) { spin_kernel<<<1, 32, 0, reinterpret_cast<cudaStream_t>(s)>>>(spin); };
  auto run = [&](const std::string& mode) {
    RK(cudaDeviceSynchronize());
    const auto t0 = std::chrono::steady_clock::now();
    CUstream s = reinterpret_cast<CUstream>(S);
    for (int i = 0; i < n; ++i) {
      if (mode == "one-stream") {
        launch(s);
      } else if (mode == "primary-green" || mode == "green-green") {
        CUstream a = mode == "primary-green" ? s : G;
        CUstream from = i % 2 ? P : a, to = i % 2 ? a : P;
        hand(from, to);
        launch(to);
      } else {  // green-joined
        hand(s, P);
        launch(P);
        hand(P, s);
      }
    }
    RK(cudaGetLastError());
    RK(cudaDeviceSynchronize());
    const auto t1 = std::chrono::steady_clock::now();
    return std::chrono::duration<double, std::micro>(t1 - t0).count() / n;
  };
  std::printf("HANDOFF {\"kernels\": %d, \"spin_ns\": %llu", n, spin);
  for (int rep = 0; rep < 2; ++rep)  // the first pass warms up; the second is reported
    for (const char* m : {"one-stream", "primary-green", "green-green", "green-joined"}) {
      const double us = run(m);
      if (rep == 1) std::printf(", \"%s_us_per_kernel\": %.2f", m, us);
    }
  std::printf("}\n");
  return 0;
}
