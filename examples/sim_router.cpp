// The smallest complete use of eclip: a simulated MI50, two workers, a plan, the pool and the
// router. Each launch goes where the plan says; barriers appear only where needed.
#include <fmt/format.h>

#include "eclip/backend/sim.hpp"
#include "eclip/eclip.hpp"

int main() {
  eclip::SimDevice gpu(eclip::SimDeviceModel::mi50());
  const eclip::Topology& topo = gpu.topology();

  // Worker 0 runs 6 kernels: 3 on one shader engine, then 3 on the whole GPU.
  // Worker 1 runs 4 kernels on two shader engines.
  eclip::Plan plan{topo.name, "example", eclip::SwitchBudget::per_request(14),
                   {eclip::WorkerPlan{"w0", {{0, 3, {1}}, {3, 3, {4}}}}, eclip::WorkerPlan{"w1", {{0, 4, {2}}}}}};
  plan.validate(topo);
  eclip::PartitionPool pool(gpu, 2, plan.pool_specs(topo));
  eclip::RouteLog log(2);
  eclip::KernelRouter router(pool, plan, eclip::SwitchBudget::unlimited(), &log);

  // Every kernel: 40 us on 15 CUs down to 10 us on 60.
  const std::vector<unsigned> units{15, 30, 45, 60};
  const std::vector<double> us{40, 20, 15, 10};
  for (unsigned w = 0; w < 2; ++w) router.begin_request(w);
  for (unsigned k = 0; k < 6; ++k)
    for (unsigned w = 0; w < 2; ++w) {
      if (k >= plan.workers[w].kernel_count()) continue;
      eclip::RouteDecision d = router.route(w);
      gpu.launch(d.stream, eclip::SimKernel{&units, &us, 1.0, k});
      fmt::print("worker {} kernel {} -> units {:<6} switched={} barrier={}\n", w, k,
                 pool.slots(w)[d.slot].mask.to_string(), d.switched, d.barrier);
      gpu.advance_to(gpu.now_us() + 5);  // the host takes 5 us per launch
    }
  while (gpu.next_event_us() < 1e12) gpu.advance_to(gpu.next_event_us());
  const auto c = router.totals();
  fmt::print("done at {:.1f} us: {} launches, {} switches, {} barriers, {:.4f} J\n", gpu.now_us(), c.launches,
             c.switches, c.barriers, gpu.energy_j());
}
