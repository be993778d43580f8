// Mix::from_json and Mix::list_from_json (eclip/experiments/colocation.hpp) on arbitrary JSON.
#include "eclip/experiments/colocation.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const nlohmann::json j = eclip_fuzz::parse(eclip_fuzz::text(data, size));
  if (j.is_discarded()) return 0;
  try {
    const eclip::Mix m = eclip::Mix::from_json(j);
    eclip_fuzz::require(!m.models.empty(), "an accepted mix has workers");
  } catch (const eclip::Error&) {
  }
  try {
    for (const eclip::Mix& m : eclip::Mix::list_from_json(j))
      eclip_fuzz::require(!m.models.empty(), "an accepted mix list's mixes have workers");
  } catch (const eclip::Error&) {
  }
  return 0;
}
