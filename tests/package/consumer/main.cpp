// A user's program: a simulated MI50, one worker, three kernels across two partitions.
#include <cstdio>

#include <eclip/backend/sim.hpp>
#include <eclip/eclip.hpp>

int main() {
  eclip::SimDevice device(eclip::SimDeviceModel::mi50());
  eclip::Plan plan{"MI50", "example", {}, {eclip::WorkerPlan{"m", {{0, 2, {1}}, {2, 1, {4}}}}}};
  eclip::PartitionPool pool(device, 1, plan.pool_specs(device.topology()));
  eclip::KernelRouter router(pool, plan);
  router.begin_request(0);
  for (int k = 0; k < 3; ++k) router.route(0);
  std::printf("routed %llu launches\n", static_cast<unsigned long long>(router.totals().launches));
  return router.totals().launches == 3 ? 0 : 1;
}
