// The simulated device's energy, integrated exactly by its event loop, on its own clock.
#include <algorithm>

#include "eclip/backend/sim.hpp"
#include "eclip/energy/energy_meter.hpp"

namespace eclip {
namespace {

// ---- the simulator -----------------------------------------------------------------------------
class SimCounter final : public EnergyCounter {
 public:
  explicit SimCounter(const SimDevice& d) : dev_(d) {}
  std::string_view kind() const noexcept override { return "sim"; }
  std::string device() const override { return "simulated " + dev_.topology().name; }
  double energy_j() override { return dev_.energy_j(); }

 private:
  const SimDevice& dev_;
};

}  // namespace

std::unique_ptr<EnergyCounter> sim_counter(const SimDevice& device) { return std::make_unique<SimCounter>(device); }

EnergyMeter sim_meter(SimDevice& device) {
  EnergyMeterOptions o;
  o.align_to_updates = false;
  SimDevice* d = &device;
  return EnergyMeter(sim_counter(device), o, [d] { return d->now_us() * 1e-6; },
                     [d](double s) { d->advance_to(d->now_us() + std::max(0.0, s) * 1e6); });
}

}  // namespace eclip
