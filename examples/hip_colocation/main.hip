// hip_colocation: several inference-like workers share one AMD GPU through eclip's router.
//
// Each worker thread runs requests of three real kernels on its own data:
//   1. GEMM     T = X * B            (128 x 128, shared-memory tiles)   planned on half the device
//   2. stencil  X = 5-point mean(T)  (a convolution-like pass)          planned on one shader engine
//   3. stream   y = 0.5 y + X        (1 M floats, memory bound)         planned on the whole device
// Every kernel reads what the previous one wrote, and request r+1's GEMM reads request r's X, so
// the chain is only right if the router keeps each worker's order while it moves the kernels
// between that worker's CU-masked streams. The program checks every worker's X and y against a
// host computation and prints the router's counters.
//
// Usage: hip_colocation [workers (1-3, default 3)] [requests (default 50)]
// Without an AMD GPU it prints "SKIPPED: <reason>" and exits 77 (ctest: skipped).
#include <hip/hip_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <eclip/backend/hip.hpp>
#include <eclip/backend/hip_launch.hpp>
#include <eclip/eclip.hpp>

namespace {

constexpr int kN = 128;             // matrix side
constexpr int kTile = 16;           // GEMM tile
constexpr int kVector = 1 << 20;    // stream kernel length

__global__ void gemm(const float* x, const float* b, float* t, int n) {
  __shared__ float xs[kTile][kTile];
  __shared__ float bs[kTile][kTile];
  const int row = static_cast<int>(blockIdx.y) * kTile + static_cast<int>(threadIdx.y);
  const int col = static_cast<int>(blockIdx.x) * kTile + static_cast<int>(threadIdx.x);
  float acc = 0.f;
  for (int k0 = 0; k0 < n; k0 += kTile) {
    xs[threadIdx.y][threadIdx.x] = x[row * n + k0 + static_cast<int>(threadIdx.x)];
    bs[threadIdx.y][threadIdx.x] = b[(k0 + static_cast<int>(threadIdx.y)) * n + col];
    __syncthreads();
    for (int k = 0; k < kTile; ++k) acc += xs[threadIdx.y][k] * bs[k][threadIdx.x];
    __syncthreads();
  }
  t[row * n + col] = acc;
}

__global__ void stencil(const float* t, float* x, int n) {
  const int i = static_cast<int>(blockIdx.y * blockDim.y + threadIdx.y);
  const int j = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i >= n || j >= n) return;
  auto at = [&](int r, int c) { return t[std::clamp(r, 0, n - 1) * n + std::clamp(c, 0, n - 1)]; };
  x[i * n + j] = 0.2f * (at(i, j) + at(i - 1, j) + at(i + 1, j) + at(i, j - 1) + at(i, j + 1));
}

__global__ void stream(float* y, const float* x, int len, int xlen) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < len) y[i] = 0.5f * y[i] + x[i % xlen];
}

void ok(hipError_t e, const char* call) { eclip::hip::detail::check(e, call); }

struct WorkerData {
  float *x = nullptr, *b = nullptr, *t = nullptr, *y = nullptr;
  std::vector<float> hx, hb, hy;  // host reference
};

void host_request(WorkerData& d) {
  std::vector<float> t(kN * kN, 0.f);
  for (int i = 0; i < kN; ++i)
    for (int k = 0; k < kN; ++k)
      for (int j = 0; j < kN; ++j) t[i * kN + j] += d.hx[i * kN + k] * d.hb[k * kN + j];
  auto at = [&](int r, int c) { return t[std::clamp(r, 0, kN - 1) * kN + std::clamp(c, 0, kN - 1)]; };
  for (int i = 0; i < kN; ++i)
    for (int j = 0; j < kN; ++j)
      d.hx[i * kN + j] = 0.2f * (at(i, j) + at(i - 1, j) + at(i + 1, j) + at(i, j - 1) + at(i, j + 1));
  for (int i = 0; i < kVector; ++i) d.hy[i] = 0.5f * d.hy[i] + d.hx[i % (kN * kN)];
}

double max_rel_error(const std::vector<float>& got, const std::vector<float>& want) {
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    worst = std::max(worst, std::abs(double(got[i]) - want[i]) / std::max(1e-3, std::abs(double(want[i]))));
  return worst;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string why = eclip::hip::unavailable_reason();
  if (!why.empty()) {
    std::printf("SKIPPED: %s\n", why.c_str());
    return 77;
  }
  const unsigned workers = argc > 1 ? static_cast<unsigned>(std::clamp(std::atoi(argv[1]), 1, 3)) : 3;
  const unsigned requests = argc > 2 ? static_cast<unsigned>(std::max(1, std::atoi(argv[2]))) : 50;
  try {
    eclip::hip::HipBackend gpu;
    const eclip::Topology& topo = gpu.topology();
    const unsigned whole = topo.group_count();
    const unsigned half = std::max(1U, whole / 2);
    std::printf("device %s: %u CUs in %u shader engines (%s)\n", topo.name.c_str(), topo.units(), whole,
                gpu.device().arch.c_str());

    // The plan: per worker, GEMM on half the device, stencil on one engine, stream on all of it.
    eclip::Plan plan;
    plan.device = topo.name;
    plan.strategy = "example";
    for (unsigned w = 0; w < workers; ++w)
      plan.workers.push_back(eclip::WorkerPlan::from_per_kernel(
          "worker" + std::to_string(w),
          {eclip::PartitionConfig{half}, eclip::PartitionConfig{1}, eclip::PartitionConfig{whole}}));
    eclip::PartitionPool pool(gpu, workers, plan.pool_specs(topo));
    eclip::KernelRouter router(pool, plan);
    for (unsigned w = 0; w < workers; ++w)
      for (const auto& slot : pool.slots(w))
        std::printf("worker %u: %u engine(s) -> CUs %s\n", w, slot.config.groups, slot.mask.to_string().c_str());

    std::vector<WorkerData> data(workers);
    for (unsigned w = 0; w < workers; ++w) {
      WorkerData& d = data[w];
      d.hx.resize(kN * kN);
      d.hb.resize(kN * kN);
      d.hy.assign(kVector, 0.f);
      for (int i = 0; i < kN * kN; ++i) {
        d.hx[i] = float((i * 7 + static_cast<int>(w)) % 13) / 13.f;
        d.hb[i] = (1.f + 0.5f * std::sin(float(i))) / kN;  // rows sum to about 1: values stay bounded
      }
      ok(hipMalloc(&d.x, kN * kN * sizeof(float)), "hipMalloc");
      ok(hipMalloc(&d.b, kN * kN * sizeof(float)), "hipMalloc");
      ok(hipMalloc(&d.t, kN * kN * sizeof(float)), "hipMalloc");
      ok(hipMalloc(&d.y, kVector * sizeof(float)), "hipMalloc");
      ok(hipMemcpy(d.x, d.hx.data(), kN * kN * sizeof(float), hipMemcpyHostToDevice), "hipMemcpy");
      ok(hipMemcpy(d.b, d.hb.data(), kN * kN * sizeof(float), hipMemcpyHostToDevice), "hipMemcpy");
      ok(hipMemset(d.y, 0, kVector * sizeof(float)), "hipMemset");
    }
    ok(hipDeviceSynchronize(), "hipDeviceSynchronize");

    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (unsigned w = 0; w < workers; ++w)
      threads.emplace_back([&, w] {
        WorkerData& d = data[w];
        for (unsigned r = 0; r < requests; ++r) {
          router.begin_request(w);
          eclip::hip::launch(router, w, gemm, dim3(kN / kTile, kN / kTile), dim3(kTile, kTile), 0, d.x, d.b, d.t, kN);
          eclip::hip::launch(router, w, stencil, dim3(kN / 16, kN / 16), dim3(16, 16), 0, d.t, d.x, kN);
          eclip::hip::launch(router, w, stream, dim3(kVector / 256), dim3(256), 0, d.y, d.x, kVector, kN * kN);
        }
      });
    for (auto& t : threads) t.join();
    ok(hipDeviceSynchronize(), "hipDeviceSynchronize");
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

    bool all_ok = true;
    for (unsigned w = 0; w < workers; ++w) {
      WorkerData& d = data[w];
      for (unsigned r = 0; r < requests; ++r) host_request(d);
      std::vector<float> gx(kN * kN), gy(kVector);
      ok(hipMemcpy(gx.data(), d.x, gx.size() * sizeof(float), hipMemcpyDeviceToHost), "hipMemcpy");
      ok(hipMemcpy(gy.data(), d.y, gy.size() * sizeof(float), hipMemcpyDeviceToHost), "hipMemcpy");
      const double ex = max_rel_error(gx, d.hx), ey = max_rel_error(gy, d.hy);
      const bool good = ex < 1e-3 && ey < 1e-3;
      all_ok = all_ok && good;
      const eclip::RouterCounters c = router.counters(w);
      std::printf("worker %u: %llu launches, %llu switches, %llu barriers, %llu backend errors; "
                  "max rel. error X %.2e, y %.2e: %s\n",
                  w, static_cast<unsigned long long>(c.launches), static_cast<unsigned long long>(c.switches),
                  static_cast<unsigned long long>(c.barriers), static_cast<unsigned long long>(c.backend_errors), ex,
                  ey, good ? "OK" : "WRONG");
      (void)hipFree(d.x), (void)hipFree(d.b), (void)hipFree(d.t), (void)hipFree(d.y);
    }
    std::printf("%u workers x %u requests x 3 kernels in %.1f ms: %s\n", workers, requests, ms,
                all_ok ? "all results match the host" : "RESULTS DIFFER");
    return all_ok ? 0 : 1;
  } catch (const eclip::Error& e) {
    std::fprintf(stderr, "hip_colocation: %s\n", e.what());
    return 1;
  }
}
