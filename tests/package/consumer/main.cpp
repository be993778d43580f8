// A user's program: a simulated MI50, one worker, three kernels across two partitions; then the
// same worker's predicted throughput from the installed co-location simulation (eclip/model).
#include <cstdio>

#include <eclip/backend/sim.hpp>
#include <eclip/eclip.hpp>
#include <eclip/model/colocation_sim.hpp>

int main() {
  eclip::SimDevice device(eclip::SimDeviceModel::mi50());
  eclip::Plan plan{"MI50", "example", {}, {eclip::WorkerPlan{"m", {{0, 2, {1}}, {2, 1, {4}}}}}};
  eclip::PartitionPool pool(device, 1, plan.pool_specs(device.topology()));
  eclip::KernelRouter router(pool, plan);
  router.begin_request(0);
  for (int k = 0; k < 3; ++k) router.route(0);
  std::printf("routed %llu launches\n", static_cast<unsigned long long>(router.totals().launches));

  const eclip::Topology& t = device.topology();
  eclip::Profile profile;
  profile.device = t.name;
  profile.configs = t.size_classes;
  for (unsigned c : t.size_classes) profile.units.push_back(t.units_of(c));
  eclip::ModelProfile m{"m", 5.0, {}};
  for (int k = 0; k < 3; ++k) m.kernels.push_back(eclip::KernelProfile{"k", {40, 20, 15, 10}});
  profile.models.push_back(m);
  const std::vector<std::string> models{"m"};
  eclip::RunOptions opt;
  opt.duration_ms = 20;
  opt.warmup_ms = 2;
  const eclip::RunResult r = eclip::simulate(
      device.model(), profile, models, "solo",
      eclip::make_strategy_plan(eclip::Strategy::baseline, models, profile, t), opt);
  std::printf("simulated %.0f requests/s\n", r.throughput_rps);
  return router.totals().launches == 3 && r.throughput_rps > 0 ? 0 : 1;
}
