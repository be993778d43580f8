#include <cmath>
#include <cstdlib>
#include <string>

#include <dlfcn.h>

#include <catch2/catch.hpp>

#include "eclip/backend/sim.hpp"
#include "eclip/energy/energy_meter.hpp"
#include "eclip/core/error.hpp"

using namespace eclip;

namespace {

/// A counter that moves in steps, like NVML's: every `period` seconds of the fake clock it jumps
/// to the energy a constant `watts` draw has used so far.
struct FakeWorld {
  double t = 0;          // seconds
  double watts = 300;
  double period = 0.05;  // counter update interval
  double origin_j = 1000;
  int reads = 0;
};

class FakeCounter final : public EnergyCounter {
 public:
  explicit FakeCounter(FakeWorld& w) : w_(w) {}
  std::string_view kind() const noexcept override { return "fake"; }
  std::string device() const override { return "fake device"; }
  double energy_j() override {
    ++w_.reads;
    const double updated_at = std::floor(w_.t / w_.period + 1e-9) * w_.period;
    return w_.origin_j + w_.watts * updated_at;
  }

 private:
  FakeWorld& w_;
};

EnergyMeter fake_meter(FakeWorld& w, bool align, double poll = 0.001, double timeout = 0.5) {
  EnergyMeterOptions o;
  o.align_to_updates = align;
  o.poll_s = poll;
  o.align_timeout_s = timeout;
  return EnergyMeter(std::make_unique<FakeCounter>(w), o, [&w] { return w.t; }, [&w](double s) { w.t += s; });
}

void drain(SimDevice& d) {
  while (std::isfinite(d.next_event_us())) d.advance_to(d.next_event_us());
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("sim meter: idle power is the model's idle power", "[energy][sim]") {
  SimDevice d(SimDeviceModel::h100());
  EnergyMeter m = sim_meter(d);
  CHECK(m.counter().kind() == "sim");
  CHECK(m.counter().device() == "simulated H100");
  const EnergyWindow w = m.idle(0.25);
  CHECK(w.seconds == Approx(0.25));
  CHECK(w.avg_power_w == Approx(d.model().idle_power_w()));
  CHECK(w.joules == Approx(0.25 * d.model().idle_power_w()));
  CHECK(w.end_j - w.start_j == Approx(w.joules));
  CHECK_FALSE(w.aligned);  // the simulator integrates exactly: no update steps to wait for
}

TEST_CASE("sim meter: a window holds its kernels' energy, the hook drains the device", "[energy][sim]") {
  SimDeviceModel model = SimDeviceModel::h100();
  SimDevice d(model);
  EnergyMeter m = sim_meter(d);
  const std::vector<unsigned> units{8, 16, 32, 64, 132};
  const std::vector<double> us{1650, 825, 412.5, 206.25, 100};  // perfect scaling: 100 us on the whole GPU
  const StreamHandle whole = d.create_stream(d.topology().all());
  int syncs = 0;
  auto sync = [&] {
    ++syncs;
    drain(d);
  };
  m.begin(sync);
  CHECK(m.in_window());
  SimKernel k{&units, &us, 1.0, 7};
  k.max_units = 132;  // 132 blocks: every SM busy
  d.launch(whole, k);
  const EnergyWindow w = m.end(sync);
  CHECK(syncs == 2);
  CHECK_FALSE(m.in_window());
  CHECK(w.seconds == Approx(100e-6));
  const double busy_w = model.static_w + 132 * model.unit_active_w;
  CHECK(w.joules == Approx(busy_w * 100e-6));
  CHECK(w.avg_power_w == Approx(busy_w));
  CHECK(w.avg_power_w > model.idle_power_w());
}

TEST_CASE("window on a stepping counter, aligned to its updates", "[energy][window]") {
  FakeWorld world;
  world.t = 0.013;  // between two updates
  EnergyMeter m = fake_meter(world, true, 0.001);
  m.begin();
  // The start edge waited for the update at 0.05 s (seen at the first poll after it).
  CHECK(world.t == Approx(0.05).margin(0.0011));
  world.t += 1.02;  // the workload, ending at ~1.07 s, between two updates
  const EnergyWindow w = m.end();
  CHECK(w.aligned);
  // Both edges sit on updates (0.05 and 1.10 s), so the joules are exactly 1.05 s at 300 W; the
  // seconds are 1.05 s up to one poll interval of lateness at each edge.
  CHECK(w.joules == Approx(300.0 * 1.05));
  CHECK(w.seconds == Approx(1.05).margin(0.0025));
  CHECK(w.avg_power_w == Approx(300.0).epsilon(0.003));
  CHECK(w.edge_wait_s == Approx(0.037 + 0.03).margin(0.003));
  CHECK(w.start_j == Approx(1000 + 300 * 0.05));
}

TEST_CASE("window on a stepping counter, unaligned: the steps show as error", "[energy][window]") {
  FakeWorld world;
  world.t = 0.013;
  EnergyMeter m = fake_meter(world, false);
  m.begin();
  CHECK(world.t == 0.013);  // no waiting
  world.t += 1.03;          // ends at 1.043: last update at 1.0
  const EnergyWindow w = m.end();
  CHECK_FALSE(w.aligned);
  CHECK(w.edge_wait_s == 0);
  CHECK(w.seconds == Approx(1.03));
  CHECK(w.joules == Approx(300.0 * 1.0));  // updates at 0.0 and 1.0 bracket the reads
  CHECK(w.avg_power_w == Approx(300.0 / 1.03));
}

TEST_CASE("an edge stops waiting at the timeout when the counter never moves", "[energy][window]") {
  FakeWorld world;
  world.watts = 0;  // the counter never changes
  EnergyMeter m = fake_meter(world, true, 0.01, 0.2);
  m.begin();
  CHECK(world.t == Approx(0.2).margin(0.011));
  const EnergyWindow w = m.end();
  CHECK_FALSE(w.aligned);
  CHECK(w.joules == 0);
  CHECK(w.edge_wait_s == Approx(0.4).margin(0.03));
}

TEST_CASE("idle() is a window with nothing in it, the hook runs at both edges", "[energy][window]") {
  FakeWorld world;
  world.watts = 120;
  EnergyMeter m = fake_meter(world, true);
  int syncs = 0;
  const EnergyWindow w = m.idle(2.0, [&] { ++syncs; });
  CHECK(syncs == 2);
  CHECK(w.avg_power_w == Approx(120).epsilon(0.002));
  CHECK(w.seconds == Approx(2.0).margin(0.06));
}

TEST_CASE("window misuse and bad options are errors that say what to do", "[energy][window]") {
  FakeWorld world;
  EnergyMeter m = fake_meter(world, false);
  try {
    m.end();
    FAIL("end() without begin() must throw");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::invalid_argument);
    CHECK(contains(e.what(), "no window is open"));
  }
  m.begin();
  CHECK_THROWS_AS(m.begin(), Error);
  m.end();
  EnergyMeterOptions bad;
  bad.poll_s = 0;
  CHECK_THROWS_WITH(m.set_options(bad), Catch::Contains("poll interval 0 s must be > 0"));
  CHECK_THROWS_WITH(m.idle(-1), Catch::Contains("-1 s must be >= 0"));
  CHECK_THROWS_WITH(EnergyMeter(nullptr), Catch::Contains("no counter"));
  // A hook that throws leaves no window open.
  CHECK_THROWS(m.begin([] { throw Error(Errc::backend, "sync failed"); }));
  CHECK_FALSE(m.in_window());
}

TEST_CASE("NVML: a missing library or a wrong one is Errc::unavailable with the reason", "[energy][nvml]") {
  try {
    open_nvml_counter(NvmlOptions{0, "libnvidia-ml-missing.so.1"});
    FAIL("a missing library must throw");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::unavailable);
    CHECK(contains(e.what(), "nvml: dlopen libnvidia-ml-missing.so.1: "));
  }
  try {
    open_nvml_counter(NvmlOptions{0, "libm.so.6"});
    FAIL("a library without NVML must throw");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::unavailable);
    CHECK(contains(e.what(), "libm.so.6 has no nvmlInit_v2"));
  }
}

TEST_CASE("NVML: a working library gives a counter in joules, the device's name and its power", "[energy][nvml]") {
  auto c = open_nvml_counter(NvmlOptions{0, ECLIP_FAKE_NVML});
  CHECK(c->kind() == "nvml");
  CHECK(c->device() == "Stand-in GPU");
  CHECK(c->energy_j() == Approx(1234.5));
  CHECK(c->power_w() == Approx(250.0));
  CHECK_THROWS_WITH(open_nvml_counter(NvmlOptions{1, ECLIP_FAKE_NVML}),
                    Catch::Contains("nvml: device 1 out of range: NVML reports 1 device(s)"));
  setenv("FAKE_NVML_NO_ENERGY", "1", 1);
  CHECK_THROWS_WITH(open_nvml_counter(NvmlOptions{0, ECLIP_FAKE_NVML}),
                    Catch::Contains("device 0 (Stand-in GPU) has no total-energy counter") &&
                        Catch::Contains("Not Supported (NVML error 3) (needs Volta or newer)"));
  unsetenv("FAKE_NVML_NO_ENERGY");
}

TEST_CASE("NVML: the default library works where the NVIDIA driver is installed, else says why", "[energy][nvml]") {
  // Which case applies is decided independently of eclip: can the dynamic loader open the driver's
  // libnvidia-ml.so.1? If so, this is an NVIDIA machine and the counter must work.
  dlerror();
  void* lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  const std::string dlopen_error = lib ? "" : dlerror();
  if (lib) {
    auto c = open_nvml_counter();
    CHECK(c->kind() == "nvml");
    const double j0 = c->energy_j();
    CHECK(j0 > 0);
    WARN("NVML available: " << c->device() << ", counter " << j0 << " J");
    dlclose(lib);
  } else {
    try {
      open_nvml_counter();
      FAIL("libnvidia-ml.so.1 does not load here (" << dlopen_error << "), yet open_nvml_counter() succeeded");
    } catch (const Error& e) {
      CHECK(e.code() == Errc::unavailable);
      CHECK(std::string(e.what()) == "nvml: dlopen libnvidia-ml.so.1: " + dlopen_error);
    }
  }
}

TEST_CASE("rocm_smi: unavailable without an AMD GPU, with the reason", "[energy][rocm_smi]") {
  try {
    auto c = open_rocm_smi_counter();
    CHECK(c->kind() == "rocm_smi");
    CHECK(c->energy_j() >= 0);
    WARN("rocm_smi available: " << c->device());
  } catch (const Error& e) {
    CHECK(e.code() == Errc::unavailable);
    CHECK(contains(e.what(), "rocm_smi: "));
    if (!rocm_smi_built()) CHECK(contains(e.what(), "not built"));
    WARN("rocm_smi unavailable here: " << e.what());
  }
  if (rocm_smi_built()) {
    try {
      open_rocm_smi_counter(RocmSmiOptions{0, "librocm_smi64-missing.so.1"});
      FAIL("a missing library must throw");
    } catch (const Error& e) {
      CHECK(e.code() == Errc::unavailable);
      CHECK(contains(e.what(), "rocm_smi: dlopen librocm_smi64-missing.so.1"));
    }
  }
}
