// Profile::from_json on arbitrary JSON; an accepted profile must survive a to_json round trip.
#include "eclip/plan/profile.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const nlohmann::json j = eclip_fuzz::parse(eclip_fuzz::text(data, size));
  if (j.is_discarded()) return 0;
  try {
    const eclip::Profile p = eclip::Profile::from_json(j);
    eclip_fuzz::require(eclip::Profile::from_json(p.to_json()) == p, "profile JSON round trip");
  } catch (const eclip::Error&) {
  }
  return 0;
}
