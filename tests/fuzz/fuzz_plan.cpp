// Plan::from_json_text on arbitrary text, against every device preset (a plan names its device,
// so at most one accepts it); an accepted plan must validate and round-trip.
#include "eclip/plan/plan.hpp"
#include "eclip/core/topology.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<eclip::Topology> topos = [] {
    std::vector<eclip::Topology> t;
    for (const std::string& n : eclip::presets::names()) t.push_back(eclip::presets::by_name(n));
    return t;
  }();
  const std::string text = eclip_fuzz::text(data, size);
  for (const eclip::Topology& topo : topos) {
    try {
      const eclip::Plan p = eclip::Plan::from_json_text(text, topo);
      p.validate(topo);
      eclip_fuzz::require(eclip::Plan::from_json(p.to_json(topo), topo) == p, "plan JSON round trip");
    } catch (const eclip::Error&) {
    }
  }
  return 0;
}
