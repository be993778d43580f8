// The optimizer behind the profile reader: any profile the reader accepts, planned for a mix of
// its first models on the topology its configs name, must give a valid plan that respects the
// budget, the thresholds and the pool, or an eclip::Error - never a crash, NaN or a hang.
#include <cmath>

#include "eclip/planner/optimizer.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  // Byte 0: budget (0..14, or unlimited at 255); byte 1: tolerance, contention model, queue limit.
  const std::uint8_t b = data[0], o = data[1];
  const nlohmann::json j = eclip_fuzz::parse(eclip_fuzz::text(data + 2, size - 2));
  if (j.is_discarded()) return 0;
  try {
    const eclip::Profile p = eclip::Profile::from_json(j);
    // A uniform topology with the profile's size classes (the last must be the whole device).
    eclip::Topology topo;
    topo.name = p.device;
    topo.group_sizes.assign(p.configs.empty() ? 0 : p.configs.back(), 4);
    topo.size_classes = p.configs;
    topo.max_masked_streams = o % 8;
    if (topo.group_sizes.size() > 64) return 0;
    topo.validate();
    std::size_t kernels = 0;
    std::vector<std::string> mix;
    for (const auto& m : p.models)
      if (mix.size() < 4) {
        mix.push_back(m.model);
        kernels += m.kernels.size();
      }
    if (mix.empty() || kernels > 4000) return 0;
    eclip::OptimizerOptions opts;
    opts.threshold_tolerance = (o >> 3 & 3) * 0.1;
    opts.contention = (o >> 5 & 1) ? eclip::ContentionModel::region : eclip::ContentionModel::occupancy;
    const eclip::SwitchBudget budget =
        b == 255 ? eclip::SwitchBudget::unlimited() : eclip::SwitchBudget::per_request(b % 15);
    const eclip::Optimizer opt(topo, opts);
    const eclip::OptimizerResult r = opt.optimize(p, mix, budget);
    r.plan.validate(topo);
    eclip_fuzz::require(std::isfinite(r.objective) && r.objective > 0, "finite positive objective");
    eclip_fuzz::require(r.masked_streams <= topo.max_masked_streams, "pool respected");
    for (const auto& w : r.workers) {
      eclip_fuzz::require(w.below_threshold == 0, "every kernel at or above its threshold");
      eclip_fuzz::require(budget.allows(w.switches), "budget respected");
    }
  } catch (const eclip::Error&) {
  }
  return 0;
}
