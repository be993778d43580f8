// The C ABI's NVIDIA launches on a GPU, used as a user would: through libeclip_c alone, with the
// program's own (shared) CUDA runtime. Without a driver or GPU it prints the reason and exits 77.
//   eclip_router_launch_kernel    a __global__ function's host address (the process's cudaLaunchKernel)
//   eclip_router_launch_function  the same kernel as a CUfunction (cuLaunchKernel)
//   eclip_pool_slot_push_context  a stream the runtime creates while the slot's context is current
//                                 stays in the partition (what keeps cuDNN's internal streams inside)
//   eclip_router_launch_graph     one graph per slot, captured with the slot's context pushed
// Each kernel records the %smid of its blocks: a 1-atom partition must use at most one atom's SMs.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include <cuda_runtime.h>

#include "eclip/eclip_c.h"

namespace {

constexpr unsigned kBlocks = 264;
int failures = 0;

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                                    \
    }                                                                                \
  } while (0)

void must(int rc, const char* call) {
  if (rc != ECLIP_OK) {
    std::fprintf(stderr, "%s: %s (%s)\n", call, eclip_status_name(rc), eclip_last_error());
    std::exit(1);
  }
}
void cuda_ok(cudaError_t e, const char* call) {
  if (e != cudaSuccess) {
    std::fprintf(stderr, "%s failed: %s\n", call, cudaGetErrorString(e));
    std::exit(1);
  }
}

__global__ void record_smid(unsigned* out) {
  unsigned smid = 0;
  asm volatile("mov.u32 %0, %%smid;" : "=r"(smid));
  // Long enough that the blocks spread over every SM they may use.
  const long long start = clock64();
  while (clock64() - start < 200000) {
  }
  if (threadIdx.x == 0) out[blockIdx.x] = smid;
}

std::set<unsigned> sms_used(unsigned* d_out) {
  std::vector<unsigned> h(kBlocks);
  cuda_ok(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  cuda_ok(cudaMemcpy(h.data(), d_out, kBlocks * sizeof(unsigned), cudaMemcpyDeviceToHost), "cudaMemcpy");
  cuda_ok(cudaMemset(d_out, 0xff, kBlocks * sizeof(unsigned)), "cudaMemset");
  return std::set<unsigned>(h.begin(), h.end());
}

}  // namespace

int main() {
  eclip_backend* be = nullptr;
  const int rc = eclip_backend_create("cuda", &be);
  if (rc == ECLIP_E_UNAVAILABLE) {
    std::printf("SKIPPED: %s\n", eclip_last_error());
    return 77;
  }
  must(rc, "eclip_backend_create(cuda)");
  eclip_topology_info info{};
  must(eclip_backend_topology(be, &info), "eclip_backend_topology");
  const unsigned atom_max = 16;  // the largest group (Hopper: 8-SM atoms and a remainder of up to 16)
  std::printf("%s (%s): %u SMs in %u groups\n", info.name, info.device, info.units, info.groups);

  // Worker 0: kernel 0 on 1 group, kernel 1 on the whole device, kernel 2 on 1 group.
  const std::string plan_json = std::string("{\"format\": \"eclip.plan\", \"version\": 1, \"device\": \"") + info.name +
                                "\", \"strategy\": \"test\", \"workers\": [{\"model\": \"m\", \"groups\": ["
                                "{\"first\": 0, \"count\": 1, \"config\": 1}, {\"first\": 1, \"count\": 1, \"config\": " +
                                std::to_string(info.groups) + "}, {\"first\": 2, \"count\": 1, \"config\": 1}]}]}";
  eclip_plan* plan = nullptr;
  must(eclip_plan_from_json(be, plan_json.c_str(), &plan), "eclip_plan_from_json");
  eclip_pool* pool = nullptr;
  must(eclip_pool_create(be, plan, &pool), "eclip_pool_create");
  eclip_router* router = nullptr;
  must(eclip_router_create(pool, plan, -1, &router), "eclip_router_create");
  uint32_t slots = 0;
  must(eclip_pool_slot_count(pool, 0, &slots), "eclip_pool_slot_count");
  CHECK(slots == 2);  // the whole device (slot 0) and 1 group (slot 1)

  unsigned* d_out = nullptr;
  cuda_ok(cudaMalloc(&d_out, kBlocks * sizeof(unsigned)), "cudaMalloc");
  cuda_ok(cudaMemset(d_out, 0xff, kBlocks * sizeof(unsigned)), "cudaMemset");
  void* args[] = {&d_out};
  const uint32_t grid[3] = {kBlocks, 1, 1}, block[3] = {32, 1, 1};
  eclip_route r{};

  // Host address, cudaLaunchKernel of this program's runtime.
  must(eclip_router_begin_request(router, 0), "eclip_router_begin_request");
  must(eclip_router_launch_kernel(router, 0, reinterpret_cast<const void*>(&record_smid), grid, block, 0, args, &r),
       "eclip_router_launch_kernel");
  CHECK(r.slot == 1 && r.status == ECLIP_ROUTED);
  const std::set<unsigned> k0 = sms_used(d_out);
  std::printf("launch_kernel on 1 group: %zu SMs\n", k0.size());
  CHECK(k0.size() <= atom_max && !k0.count(0xffffffffu));

  // The same kernel as a CUfunction (cudaFunction_t is a CUfunction), on the whole device.
  cudaFunction_t fn = nullptr;
  cuda_ok(cudaGetFuncBySymbol(&fn, reinterpret_cast<const void*>(&record_smid)), "cudaGetFuncBySymbol");
  must(eclip_router_launch_function(router, 0, fn, grid, block, 0, args, nullptr, &r), "eclip_router_launch_function");
  CHECK(r.slot == 0);
  const std::set<unsigned> k1 = sms_used(d_out);
  std::printf("launch_function on the whole device: %zu SMs\n", k1.size());
  CHECK(k1.size() > atom_max);
  must(eclip_router_launch_function(router, 0, fn, grid, block, 0, args, nullptr, &r), "eclip_router_launch_function");
  CHECK(r.slot == 1);
  const std::set<unsigned> k2 = sms_used(d_out);
  std::printf("launch_function on 1 group: %zu SMs\n", k2.size());
  CHECK(k2.size() <= atom_max);

  // A stream the runtime creates while slot 1's context is current lives in the partition.
  must(eclip_pool_slot_push_context(pool, 0, 1), "eclip_pool_slot_push_context");
  cudaStream_t inner = nullptr;
  cuda_ok(cudaStreamCreateWithFlags(&inner, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  record_smid<<<kBlocks, 32, 0, inner>>>(d_out);
  cuda_ok(cudaGetLastError(), "record_smid<<<>>>");
  must(eclip_pool_slot_pop_context(pool), "eclip_pool_slot_pop_context");
  const std::set<unsigned> inside = sms_used(d_out);
  std::printf("a stream created under slot 1's context: %zu SMs\n", inside.size());
  CHECK(inside.size() <= atom_max);
  cuda_ok(cudaStreamDestroy(inner), "cudaStreamDestroy");

  // One graph per slot, captured on the slot's stream with its context current.
  std::vector<uint64_t> execs(slots);
  for (uint32_t i = 0; i < slots; ++i) {
    uint64_t s = 0;
    must(eclip_pool_slot(pool, 0, i, &s, nullptr), "eclip_pool_slot");
    must(eclip_pool_slot_push_context(pool, 0, i), "eclip_pool_slot_push_context");
    cudaStream_t st = reinterpret_cast<cudaStream_t>(s);
    cuda_ok(cudaStreamBeginCapture(st, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
    record_smid<<<kBlocks, 32, 0, st>>>(d_out);
    cudaGraph_t g = nullptr;
    cuda_ok(cudaStreamEndCapture(st, &g), "cudaStreamEndCapture");
    cudaGraphExec_t e = nullptr;
    cuda_ok(cudaGraphInstantiate(&e, g, 0), "cudaGraphInstantiate");
    cuda_ok(cudaGraphDestroy(g), "cudaGraphDestroy");
    must(eclip_pool_slot_pop_context(pool), "eclip_pool_slot_pop_context");
    execs[i] = reinterpret_cast<uint64_t>(e);
  }
  must(eclip_router_begin_request(router, 0), "eclip_router_begin_request");
  for (unsigned k = 0; k < 3; ++k) {
    must(eclip_router_launch_graph(router, 0, execs.data(), execs.size(), &r), "eclip_router_launch_graph");
    const std::set<unsigned> g = sms_used(d_out);
    std::printf("graph for unit %u on slot %u: %zu SMs\n", k, r.slot, g.size());
    CHECK(r.slot == (k == 1 ? 0u : 1u));
    CHECK(k == 1 ? g.size() > atom_max : g.size() <= atom_max);
  }
  for (uint64_t e : execs) cuda_ok(cudaGraphExecDestroy(reinterpret_cast<cudaGraphExec_t>(e)), "cudaGraphExecDestroy");

  eclip_counters c{};
  must(eclip_router_counters(router, 0, &c), "eclip_router_counters");
  CHECK(c.launches == 6);
  CHECK(c.backend_errors == 0);
  cuda_ok(cudaFree(d_out), "cudaFree");
  eclip_router_destroy(router);
  eclip_pool_destroy(pool);
  eclip_plan_destroy(plan);
  eclip_backend_destroy(be);
  if (failures == 0) std::printf("the C ABI's NVIDIA launches stayed in their partitions\n");
  return failures == 0 ? 0 : 1;
}
