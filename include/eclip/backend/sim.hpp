#pragma once
// The simulated GPU: a deterministic discrete-event model of a device, implementing Backend.
//
// What it models:
// - units in groups (Topology), and hardware queues: at most `hardware_queues` streams with
//   pending work are mapped at once; more wait for a queue to drain (oversubscription, the reason
//   ECLIP caps masked streams at 7 on an MI50);
// - in-order streams: a kernel starts when it reaches its stream's head; a barrier packet holds
//   its stream until its marker completes, then for `barrier_packet_us`;
// - sharing: each kernel takes no more units than it occupies (its demand: its thread-block
//   count, as hardware spreads blocks over every unit the mask allows whether or not the kernel
//   gets faster; when unknown, the smallest profiled unit count within demand_tolerance of its
//   whole-device time) and
//   only units inside its stream's mask. Between kernels competing for a group's units the split
//   is a blend (`fair_share`) of max-min fair water-filling and first-come-first-served dispatch
//   (earlier-started kernels keep what they hold; with `size_priority`, larger kernels first).
//   Kernels sharing a group may together hold up to (1 + `co_residence`) x its units (blocks of
//   different kernels co-reside on an SM). A kernel's speed at a (fractional) unit count
//   interpolates its profile;
// - device-level interference: a kernel's speed is divided by
//   1 + bandwidth_slowdown x (units held by other kernels) / units, even on disjoint units;
// - energy: P = static + busy units x active W + idle units x idle (leakage) W, integrated exactly
//   between events; a kernel of measured energy (SimKernel::energy_uj) draws that energy at its
//   rate instead of active W on its units.
// What it does not model: per-kernel memory intensity (every kernel suffers and causes the same
// interference per unit), clock/power capping, and dispatch granularity below a group
// (docs/simulator.md).
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "eclip/runtime/backend.hpp"

namespace eclip {

/// A simulated device's parameters, each with its source (docs/hardware.md, the ECLIP paper, or an
/// assumption stated as such in docs/simulator.md).
struct SimDeviceModel {
  Topology topology;
  unsigned hardware_queues = 8;
  double launch_us = 5;          ///< host cost of one launch API call
  double switch_host_us = 0.5;   ///< host cost of a marker record + completion query at a switch
  double barrier_host_us = 1;    ///< host cost of inserting a barrier (wait) when one is needed
  double barrier_packet_us = 2;  ///< device time a barrier holds its queue once its marker is done
  double remask_us = 55.4;       ///< host-blocking per-kernel remask IOCTL
  double kernel_time_scale = 1;  ///< kernel time here / recorded H100 time at the same device fraction
  double static_w = 50;          ///< always-on power: memory, fabric, fans
  double unit_active_w = 3;      ///< per unit running a kernel
  double unit_idle_w = 0.5;      ///< leakage per powered but idle unit
  /// How the units of a group are divided among running kernels whose masks compete for them, in
  /// [0, 1]. 1 = max-min fair water-filling (each competitor an equal share of the units its mask
  /// allows, so in a group a kernel confined to it outweighs one that may run anywhere; capped at its
  /// demand). 0 = first come, first served: in start order (earlier-started first; kernels that
  /// start at the same instant in stream order) each kernel takes up to its demand of the units
  /// its mask allows and later ones get what is left, as a real block dispatcher does: it does not
  /// preempt, so a kernel whose blocks fill the GPU holds it until they finish and a kernel that
  /// arrives later waits (on the H100/H200 large GEMMs starved small co-located models this way).
  /// Values between blend the two allocations per kernel and group (both are feasible, so their
  /// convex combination is). Fitted from measured co-runs (docs/simulator.md); 1 keeps the model
  /// as it was before the parameter existed.
  double fair_share = 1.0;
  /// Device-level interference, >= 0: every running kernel's speed is divided by
  /// 1 + bandwidth_slowdown x B_other / units, B_other the units allocated to the other running
  /// kernels. Co-located kernels share HBM bandwidth and L2 even on disjoint units, so the busier
  /// the rest of the device, the slower each kernel runs. Fitted from measured co-runs
  /// (docs/simulator.md); 0 = no interference (the model before the parameter existed).
  double bandwidth_slowdown = 0.0;
  /// How many units a kernel of unknown block count occupies: the smallest profiled unit count
  /// whose time is within this fraction of its whole-device time. 0.02 by default; a profile of
  /// kernel groups (many small kernels each) occupies fewer units than its time curve suggests, so
  /// a larger value is fitted for such profiles (docs/simulator.md).
  double demand_tolerance = 0.02;
  /// Co-residence, >= 0: kernels whose masks share a group may together hold up to
  /// (1 + co_residence) x its units (each still at most the units its mask allows there). The
  /// hardware shares SMs at thread-block granularity: blocks of different kernels run on one SM
  /// at once up to its occupancy limits, and a batch-1 kernel rarely fills an SM, so kernels
  /// sharing SMs lose less than an exclusive split of them predicts. It changes nothing where
  /// each group is used by one kernel (disjoint partitions). Fitted from measured co-runs
  /// (docs/simulator.md); 0 = units are held exclusively (the model before the parameter existed).
  double co_residence = 0.0;
  /// Dispatch priority by size, in [0, 1]: the first-come part of the allocation (1 - fair_share)
  /// is this blend of serving kernels in start order (0) and largest demand first (1). The block
  /// dispatcher serves an earlier kernel's remaining blocks first, and a kernel group is a chain
  /// of kernels, each arriving anew: a chain of large kernels (many blocks each) keeps the units
  /// it fills, a chain of small kernels gets only what the large ones leave, whatever their start
  /// order. Demand is a proxy for kernel size (a profile has no per-kernel block counts).
  /// Fitted from measured co-runs (docs/simulator.md); 0 = start order only (the model before
  /// the parameter existed).
  double size_priority = 0.0;
  std::string source;

  /// Throws Error(invalid_argument) naming the field and its value when a parameter is out of
  /// range (fair_share or size_priority outside [0, 1], bandwidth_slowdown or co_residence
  /// negative or infinite, any of them NaN; 0 hardware queues).
  void validate() const;

  double idle_power_w() const { return static_w + topology.units() * unit_idle_w; }
  double full_power_w() const { return static_w + topology.units() * unit_active_w; }

  static SimDeviceModel mi50();
  static SimDeviceModel h100();
  static SimDeviceModel h200();
  static SimDeviceModel by_name(const std::string& name);
  /// The preset of the topology's device (by name, any case), else a model of that topology with
  /// the default parameters (no fitted contention): what the co-location planner predicts with.
  static SimDeviceModel for_topology(const Topology& topology);
};

/// One kernel launch: its times at the profile's unit counts (both vectors must outlive the run).
struct SimKernel {
  const std::vector<unsigned>* unit_counts = nullptr;
  const std::vector<double>* us = nullptr;
  double time_factor = 1.0;  ///< run-to-run variation applied to every point of the curve
  std::uint64_t tag = 0;     ///< reported back on completion
  /// Units the kernel occupies when its mask allows: its thread-block count (a block runs on one
  /// unit). 0 = unknown: then the smallest profiled unit count within the device model's
  /// demand_tolerance of its whole-device time.
  double max_units = 0;
  /// Dynamic energy of one execution above idle, microjoules; 0 = unknown: then the kernel draws
  /// the device model's unit_active_w per unit it holds. A kernel of known energy draws
  /// energy_uj x its rate (the fraction of it done per microsecond), so it costs the same energy
  /// on any partition: measured co-locations on the H200 draw idle + the sum over models of
  /// requests/s x their dynamic energy per request alone within 6 % at batch 1, while power per
  /// busy SM was off by 25 % on average (docs/hardware.md).
  double energy_uj = 0;
};

/// What a traced run records for each kernel (tests check the invariants on it).
struct SimKernelRecord {
  std::uint64_t tag;
  std::uint64_t stream;
  CuMask mask;
  double start_us, end_us;
};
/// Per group, units each running kernel held between two events (trace only).
struct SimAllocationRecord {
  double from_us, to_us;
  std::vector<std::uint64_t> tags;
  std::vector<std::vector<double>> units;  ///< [kernel][group]
  std::vector<CuMask> masks;
};

/// Unlike the hardware backends, a SimDevice is a single-threaded event loop: drive it (and a
/// router over it) from one thread.
class SimDevice final : public Backend {
 public:
  explicit SimDevice(SimDeviceModel model);

  std::string_view name() const noexcept override { return "sim"; }
  const Topology& topology() const noexcept override { return model_.topology; }
  const SimDeviceModel& model() const noexcept { return model_; }

  StreamHandle create_stream(const CuMask& mask) override;
  void destroy_stream(StreamHandle stream) noexcept override;
  MarkerHandle record_marker(StreamHandle stream) override;
  bool marker_done(MarkerHandle marker) override;
  void wait_marker(StreamHandle stream, MarkerHandle marker) override;
  void release_marker(MarkerHandle marker) noexcept override;
  /// Takes effect when it reaches the stream's head; the host cost is the caller's to charge.
  void remask_stream(StreamHandle stream, const CuMask& mask) override;

  /// Enqueues a kernel at the current time.
  void launch(StreamHandle stream, const SimKernel& kernel);

  double now_us() const noexcept { return now_; }
  /// Time of the next completion or barrier release; +infinity when nothing is running.
  double next_event_us() const;
  /// Runs the device forward to `t` (>= now), firing completion callbacks in time order.
  void advance_to(double t);
  /// Called as each kernel completes, with its tag and the completion time. It may launch or
  /// record work, but must not call advance_to().
  std::function<void(std::uint64_t tag, double t_us)> on_kernel_done;

  double energy_j() const noexcept { return energy_j_; }
  double busy_unit_us() const noexcept { return busy_unit_us_; }
  std::uint64_t kernels_completed() const noexcept { return kernels_completed_; }
  std::uint64_t kernels_launched() const noexcept { return kernels_launched_; }
  /// Record every kernel and allocation (for tests; costs memory).
  void enable_trace() { trace_ = true; }
  const std::vector<SimKernelRecord>& kernel_records() const { return kernel_records_; }
  const std::vector<SimAllocationRecord>& allocation_records() const { return allocation_records_; }

 private:
  struct Packet {
    enum class Kind : std::uint8_t { kernel, marker, barrier, remask } kind;
    SimKernel kernel;
    std::uint64_t marker = 0;
    CuMask mask;
  };
  struct Stream {
    CuMask mask;
    std::vector<double> group_units;  // units of the mask in each group
    std::deque<Packet> queue;
    bool live = true, mapped = false, waiting = false;
    bool head_started = false;  // head kernel running, or head barrier counting down
    double barrier_release_us = 0;
  };
  struct Marker {
    bool done = false, live = false;
    unsigned refs = 0;  // router + barriers still referencing it
  };
  struct Running {
    std::uint64_t stream;
    double progress = 0;  // fraction of the kernel done
    double rate = 0;      // fraction per microsecond at the current allocation
    double demand = 0;    // units the kernel can use
    double units = 0;     // units allocated now
    double start_us = 0;
    std::vector<double> alloc;  // per group (trace only)
  };

  Stream& stream(StreamHandle h);
  Marker& marker(MarkerHandle h);
  void push(std::uint64_t s, Packet p);
  bool blocked(const Stream& st) const;
  bool map_waiting();
  void pump();
  void reallocate();
  void water_fill(double* out);
  void first_come(double* out, bool by_size);
  void integrate_to(double t);
  void unref(std::uint64_t marker_index);

  SimDeviceModel model_;
  double now_ = 0;
  std::vector<Stream> streams_;   // handle value - 1
  std::vector<Marker> markers_;   // handle value - 1
  std::vector<std::uint64_t> free_markers_;
  std::deque<std::uint64_t> waiting_streams_;
  unsigned mapped_count_ = 0;
  std::vector<Running> running_;
  double energy_j_ = 0, busy_unit_us_ = 0, busy_units_ = 0;
  double unmetered_busy_units_ = 0;  // busy units of kernels without energy_uj (drawing unit_active_w)
  double metered_w_ = 0;             // sum of energy_uj x rate over kernels with energy_uj
  std::uint64_t kernels_completed_ = 0, kernels_launched_ = 0;
  std::vector<double> cap_, alloc_, tentative_, scratch_;  // reallocate() scratch, [kernel * groups + group]
  std::vector<size_t> order_;  // first_come()'s serving order
  std::vector<unsigned> sharers_;
  std::vector<double> weight_sum_, reach_;  // water_fill(): entitlement per group, units per kernel's mask
  std::vector<char> frozen_;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> done_;  // advance_to() scratch
  bool trace_ = false;
  std::vector<SimKernelRecord> kernel_records_;
  std::vector<SimAllocationRecord> allocation_records_;
};

}  // namespace eclip
