// The C ABI's energy meters (include/eclip/energy/energy_meter.hpp): NVML, rocm_smi and the
// simulated device's counter, read at the edges of a window.
#include <limits>
#include <memory>
#include <string>

#include "eclip/backend/sim.hpp"
#include "handles.hpp"

namespace eclip::c_abi {
namespace {
eclip::EnergyMeter::SyncHook sync_hook(eclip_sync_fn sync, void* user) {
  if (!sync) return {};
  return [sync, user] {
    if (int rc = sync(user); rc != 0)
      throw eclip::Error(eclip::Errc::backend, "the synchronise hook returned " + std::to_string(rc));
  };
}
void fill_window(eclip_energy_window* out, const eclip::EnergyWindow& w) {
  *out = eclip_energy_window{w.seconds, w.joules, w.avg_power_w, w.start_j, w.end_j, w.edge_wait_s,
                             w.aligned ? 1u : 0u, 0u};
}
}  // namespace
}  // namespace eclip::c_abi

using namespace eclip::c_abi;

extern "C" {

int eclip_energy_create(const char* spec, eclip_backend* backend, eclip_energy_meter** out) {
  return guarded([&] {
    require(spec, "spec");
    require(out, "out");
    *out = nullptr;
    const auto [s, kind, arg] = split_spec(spec);
    auto m = std::make_unique<eclip_energy_meter>();
    if (kind == "nvml") {
      eclip::NvmlOptions o;
      o.index = static_cast<unsigned>(ordinal_of(s, arg, kind.c_str()));
      m->meter = std::make_unique<eclip::EnergyMeter>(eclip::open_nvml_counter(o));
    } else if (kind == "rocm_smi") {
      eclip::RocmSmiOptions o;
      o.index = static_cast<unsigned>(ordinal_of(s, arg, kind.c_str()));
      m->meter = std::make_unique<eclip::EnergyMeter>(eclip::open_rocm_smi_counter(o));
    } else if (kind == "sim") {
      if (!arg.empty()) throw invalid("energy spec \"" + s + "\": \"sim\" takes no argument (it reads the backend)");
      if (!backend) throw invalid("energy spec \"sim\" needs a \"sim\" backend (backend is NULL)");
      auto* sim = dynamic_cast<eclip::SimDevice*>(backend->state->backend.get());
      if (!sim)
        throw invalid("energy spec \"sim\" needs a \"sim\" backend, not \"" +
                      std::string(backend->state->backend->name()) + "\"");
      m->backend = backend->state;
      m->meter = std::make_unique<eclip::EnergyMeter>(eclip::sim_meter(*sim));
    } else {
      throw invalid("unknown energy spec \"" + s + "\" (known: \"nvml\", \"nvml:<index>\", \"rocm_smi\", "
                    "\"rocm_smi:<index>\", \"sim\")");
    }
    *out = m.release();
  });
}

void eclip_energy_destroy(eclip_energy_meter* meter) { delete meter; }

int eclip_energy_describe(const eclip_energy_meter* meter, char* buf, size_t size) {
  return guarded([&] {
    require(meter, "meter");
    require(buf, "buf");
    if (size == 0) throw invalid("size is 0");
    eclip::EnergyCounter& c = meter->meter->counter();
    copy_string(buf, size, std::string(c.kind()) + ": " + c.device());
  });
}

int eclip_energy_read(eclip_energy_meter* meter, double* joules, double* power_w) {
  return guarded([&] {
    require(meter, "meter");
    require(joules, "joules");
    eclip::EnergyCounter& c = meter->meter->counter();
    *joules = c.energy_j();
    if (power_w) *power_w = c.power_w().value_or(std::numeric_limits<double>::quiet_NaN());
  });
}

int eclip_energy_set_alignment(eclip_energy_meter* meter, int align, double poll_s, double timeout_s) {
  return guarded([&] {
    require(meter, "meter");
    eclip::EnergyMeterOptions o;
    o.align_to_updates = align != 0;
    o.poll_s = poll_s;
    o.align_timeout_s = timeout_s;
    meter->meter->set_options(o);
  });
}

int eclip_energy_begin(eclip_energy_meter* meter, eclip_sync_fn sync, void* user) {
  return guarded([&] {
    require(meter, "meter");
    meter->meter->begin(sync_hook(sync, user));
  });
}

int eclip_energy_end(eclip_energy_meter* meter, eclip_sync_fn sync, void* user, eclip_energy_window* out) {
  return guarded([&] {
    require(meter, "meter");
    require(out, "out");
    fill_window(out, meter->meter->end(sync_hook(sync, user)));
  });
}

int eclip_energy_idle(eclip_energy_meter* meter, double seconds, eclip_sync_fn sync, void* user,
                      eclip_energy_window* out) {
  return guarded([&] {
    require(meter, "meter");
    require(out, "out");
    fill_window(out, meter->meter->idle(seconds, sync_hook(sync, user)));
  });
}

}  // extern "C"
