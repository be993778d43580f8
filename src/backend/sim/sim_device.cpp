#include <algorithm>
#include <cctype>
#include <cmath>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include <fmt/ranges.h>

#include "eclip/backend/sim.hpp"
#include "eclip/plan/profile.hpp"

namespace eclip {

SimDeviceModel SimDeviceModel::mi50() {
  SimDeviceModel m;
  m.topology = presets::mi50();
  m.hardware_queues = 8;       // ECLIP: 7 masked streams + the default one fill the hardware queues
  m.launch_us = 6.0;           // assumption: a hipLaunchKernel on ROCm 5.x, a little above CUDA's 3.5-4.2 us
  m.switch_host_us = 0.5;      // assumption: hipEventRecord + hipEventQuery
  m.barrier_host_us = 1.0;     // assumption: hipStreamWaitEvent / one barrier-AND packet
  m.barrier_packet_us = 2.0;   // assumption: CP processing of a barrier packet
  m.remask_us = 55.4;          // ECLIP, measured on MI50: the CU-mask IOCTL
  m.kernel_time_scale = 3.0;   // assumption: MI50 runs a batch-1 kernel ~3x slower than an H100 does on
                               // the same fraction of itself (26.5 vs ~990 fp16 TFLOP/s, 1.0 vs 3.35 TB/s,
                               // but small kernels are latency-bound)
  m.static_w = 45;             // assumption; with the two below: ~99 W idle at speed, ~261 W all busy
  m.unit_active_w = 3.6;       // (MI50 board power limit 300 W)
  m.unit_idle_w = 0.9;
  m.source = "MI50: topology, queue limit and remask cost from ECLIP (arXiv 2506.12598); the rest assumed "
             "(docs/simulator.md)";
  return m;
}

SimDeviceModel SimDeviceModel::h100() {
  SimDeviceModel m;
  m.topology = presets::h100();
  m.hardware_queues = 32;      // CUDA_DEVICE_MAX_CONNECTIONS=32, which eclip sets (docs/hardware.md: with the default 8, workers stalled)
  m.launch_us = 3.8;           // docs/hardware.md: 3.5-4.2 us per launch; 3.5 us measured (h100-backend-2026-11-25)
  m.switch_host_us = 0.5;      // docs/hardware.md: cudaEventQuery ~250 ns, plus the event record
  m.barrier_host_us = 0.6;     // docs/hardware.md: record + wait + launch 4.2-4.7 us vs launch 3.5-4.2 us
  m.barrier_packet_us = 1.4;   // docs/hardware.md: 2000-kernel chain, 4.4 us/kernel same stream vs 5.8 alternating
  m.remask_us = 1100;          // no in-place remask; green context + stream create/destroy measured 1.06-1.14 ms
                               // median (docs/results/h100-backend-2026-11-25; docs/hardware.md's 3.3 ms was a worse run)
  m.kernel_time_scale = 1.0;   // the workloads were recorded on this device
  // Recalibrated from the co-location runs (docs/results/h100-colocation-2026-11-25): idle with a
  // CUDA context 124-129 W in five windows (per-idle-SM leakage cannot be separated from it), and
  // GEMM-heavy mixes at 585-621 W: (605 - 125) / 132 = 3.6 W per busy SM. Light convolution mixes
  // drew only 1.0-1.4 W per busy SM, so this overestimates their power.
  m.static_w = 125;
  m.unit_active_w = 3.6;
  m.unit_idle_w = 0.0;
  m.source = "H100: docs/hardware.md measurements (driver 580.159.04, 2026-11-25)";
  return m;
}

SimDeviceModel SimDeviceModel::h200() {
  // The H100's processor and launch path, with contention and power fitted to 42 measured co-run
  // windows on the H200 (7 mixes at batch 1: Baseline and 5 static splits each; fit_model.py,
  // docs/results/h200-colocation-2026-11-30/fit_b1_v2.json): kernel groups dispatch mostly first
  // come first served (fair_share 0.3), that part largest kernel group first (size_priority 1:
  // chains of small kernels get what the large ones leave), kernels sharing SMs together hold up
  // to 1.1 x them (co_residence 0.1: blocks of different kernels co-reside on an SM), each slows
  // by 0.4 x the fraction of the device the others hold (memory bandwidth and L2 are shared by
  // disjoint partitions), a group occupies the SMs up to where it is within 25% of its
  // whole-device time; static power from the measured idle power (124 W with a context) less
  // 132 x 0.5 W, 3.0 W per busy SM. Profiles: `eclip profile --sizes all`.
  SimDeviceModel m = h100();
  m.topology = presets::h200();
  m.fair_share = 0.3;
  m.size_priority = 1.0;
  m.co_residence = 0.1;
  m.bandwidth_slowdown = 0.4;
  m.demand_tolerance = 0.25;
  m.static_w = 58;
  m.unit_idle_w = 0.5;
  m.unit_active_w = 3.0;
  m.source = "H200: contention and power fitted to measured co-runs (docs/results/h200-colocation-2026-11-30)";
  return m;
}

namespace {
using Preset = SimDeviceModel (*)();
const std::vector<std::pair<std::string, Preset>>& presets_by_name() {
  static const std::vector<std::pair<std::string, Preset>> all{
      {"mi50", &SimDeviceModel::mi50}, {"h100", &SimDeviceModel::h100}, {"h200", &SimDeviceModel::h200}};
  return all;
}
}  // namespace

SimDeviceModel SimDeviceModel::by_name(const std::string& name) {
  std::vector<std::string> known;
  for (const auto& [n, make] : presets_by_name()) {
    if (n == name) return make();
    known.push_back(n);
  }
  throw Error(Errc::invalid_argument,
              fmt::format("unknown device preset \"{}\" (simulated presets: {})", name, fmt::join(known, ", ")));
}

SimDeviceModel SimDeviceModel::for_topology(const Topology& topology) {
  std::string name = topology.name;
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const auto& [n, make] : presets_by_name())
    if (n == name) {
      SimDeviceModel m = make();
      if (m.topology.group_sizes == topology.group_sizes) return m;
    }
  SimDeviceModel m;
  m.topology = topology;
  m.source = fmt::format("{}: no simulated preset; default parameters, no fitted contention", topology.name);
  return m;
}

void SimDeviceModel::validate() const {
  topology.validate();
  if (!(demand_tolerance >= 0.0) || !std::isfinite(demand_tolerance))
    throw Error(Errc::invalid_argument,
                fmt::format("SimDeviceModel.demand_tolerance = {} is not a finite number >= 0", demand_tolerance));
  if (hardware_queues == 0) throw Error(Errc::invalid_argument, "SimDevice: 0 hardware queues");
  // Written so that NaN fails too.
  if (!(fair_share >= 0.0 && fair_share <= 1.0))
    throw Error(Errc::invalid_argument,
                fmt::format("SimDeviceModel.fair_share = {} is not in [0, 1] (1 = max-min fair, 0 = first come, "
                            "first served)",
                            fair_share));
  if (!(co_residence >= 0.0) || std::isinf(co_residence))
    throw Error(Errc::invalid_argument,
                fmt::format("SimDeviceModel.co_residence = {} is not a finite number >= 0", co_residence));
  if (!(size_priority >= 0.0 && size_priority <= 1.0))
    throw Error(Errc::invalid_argument, fmt::format("SimDeviceModel.size_priority = {} is not in [0, 1]", size_priority));
  if (!(bandwidth_slowdown >= 0.0) || std::isinf(bandwidth_slowdown))
    throw Error(Errc::invalid_argument,
                fmt::format("SimDeviceModel.bandwidth_slowdown = {} is not a finite number >= 0", bandwidth_slowdown));
}

SimDevice::SimDevice(SimDeviceModel model) : model_(std::move(model)) { model_.validate(); }

SimDevice::Stream& SimDevice::stream(StreamHandle h) {
  if (h.value == 0 || h.value > streams_.size() || !streams_[h.value - 1].live)
    throw Error(Errc::invalid_argument, fmt::format("sim: stream {} does not exist", h.value));
  return streams_[h.value - 1];
}

SimDevice::Marker& SimDevice::marker(MarkerHandle h) {
  if (h.value == 0 || h.value > markers_.size() || !markers_[h.value - 1].live)
    throw Error(Errc::invalid_argument, fmt::format("sim: marker {} does not exist", h.value));
  return markers_[h.value - 1];
}

StreamHandle SimDevice::create_stream(const CuMask& mask) {
  const Topology& t = model_.topology;
  if (mask.device_units() != t.units())
    throw Error(Errc::invalid_argument, fmt::format("sim: mask of a {}-unit device on {} ({} units)",
                                                    mask.device_units(), t.name, t.units()));
  if (mask.empty()) throw Error(Errc::invalid_argument, "sim: empty CU mask");
  Stream s;
  s.mask = mask;
  for (unsigned g = 0; g < t.group_count(); ++g) s.group_units.push_back((mask & t.group_mask(g)).count());
  streams_.push_back(std::move(s));
  return StreamHandle{streams_.size()};
}

void SimDevice::destroy_stream(StreamHandle h) noexcept {
  if (h.value == 0 || h.value > streams_.size()) return;
  // Like hipStreamDestroy/cuStreamDestroy: queued work still completes; the handle is gone.
  streams_[h.value - 1].live = false;
}

MarkerHandle SimDevice::record_marker(StreamHandle h) {
  Stream& s = stream(h);
  std::uint64_t idx;
  if (!free_markers_.empty()) {
    idx = free_markers_.back();
    free_markers_.pop_back();
  } else {
    markers_.emplace_back();
    idx = markers_.size() - 1;
  }
  // One reference for the caller, one for the marker packet while it sits in the queue.
  markers_[idx] = Marker{s.queue.empty(), true, s.queue.empty() ? 1U : 2U};
  if (!s.queue.empty()) push(h.value - 1, Packet{Packet::Kind::marker, {}, idx, {}});
  return MarkerHandle{idx + 1};
}

bool SimDevice::marker_done(MarkerHandle h) { return marker(h).done; }

void SimDevice::wait_marker(StreamHandle h, MarkerHandle m) {
  stream(h);
  Marker& mk = marker(m);
  if (mk.done && model_.barrier_packet_us <= 0) return;
  ++mk.refs;
  push(h.value - 1, Packet{Packet::Kind::barrier, {}, m.value - 1, {}});
  pump();
  reallocate();
}

void SimDevice::unref(std::uint64_t idx) {
  Marker& mk = markers_[idx];
  if (mk.refs > 0 && --mk.refs == 0) {
    mk.live = false;
    free_markers_.push_back(idx);
  }
}

void SimDevice::release_marker(MarkerHandle h) noexcept {
  if (h.value == 0 || h.value > markers_.size() || !markers_[h.value - 1].live) return;
  unref(h.value - 1);
}

void SimDevice::remask_stream(StreamHandle h, const CuMask& mask) {
  Stream& s = stream(h);
  if (mask.device_units() != model_.topology.units() || mask.empty())
    throw Error(Errc::invalid_argument, fmt::format("sim: remask to {} is not a non-empty mask of {}",
                                                    mask.to_string(), model_.topology.name));
  if (s.queue.empty()) {
    s.mask = mask;
    for (unsigned g = 0; g < model_.topology.group_count(); ++g)
      s.group_units[g] = (mask & model_.topology.group_mask(g)).count();
  } else {
    push(h.value - 1, Packet{Packet::Kind::remask, {}, 0, mask});
  }
}

void SimDevice::launch(StreamHandle h, const SimKernel& k) {
  stream(h);
  if (!k.unit_counts || !k.us || k.unit_counts->empty() || k.unit_counts->size() != k.us->size())
    throw Error(Errc::invalid_argument, "sim: kernel without a time curve");
  if (!std::isfinite(k.energy_uj) || k.energy_uj < 0)
    throw Error(Errc::invalid_argument, fmt::format("sim: kernel energy {} uJ must be finite and >= 0", k.energy_uj));
  ++kernels_launched_;
  push(h.value - 1, Packet{Packet::Kind::kernel, k, 0, {}});
  pump();
  reallocate();
}

void SimDevice::push(std::uint64_t s, Packet p) {
  Stream& st = streams_[s];
  st.queue.push_back(std::move(p));
  if (!st.mapped && !st.waiting) {
    st.waiting = true;
    waiting_streams_.push_back(s);  // mapped by the next pump()
  }
}

bool SimDevice::blocked(const Stream& st) const {
  return !st.queue.empty() && !st.head_started && st.queue.front().kind == Packet::Kind::barrier &&
         !markers_[st.queue.front().marker].done;
}

// The hardware scheduler maps waiting streams onto free queues, runnable ones first; a mapped
// stream stuck on a barrier gives its queue up to a runnable waiting one (time-slicing under
// oversubscription; without it, barriers waiting on unmapped streams could deadlock).
bool SimDevice::map_waiting() {
  bool changed = false;
  for (;;) {
    auto runnable = std::find_if(waiting_streams_.begin(), waiting_streams_.end(),
                                 [&](std::uint64_t s) { return !blocked(streams_[s]); });
    if (runnable == waiting_streams_.end()) return changed;
    const std::uint64_t next = *runnable;
    auto victim = streams_.end();
    if (mapped_count_ >= model_.hardware_queues) {
      victim = std::find_if(streams_.begin(), streams_.end(), [&](const Stream& st) { return st.mapped && blocked(st); });
      if (victim == streams_.end()) return changed;  // every queue busy with runnable work
    }
    waiting_streams_.erase(runnable);  // before push_back: deque insertion invalidates iterators
    if (victim != streams_.end()) {
      victim->mapped = false;
      victim->waiting = true;
      --mapped_count_;
      waiting_streams_.push_back(static_cast<std::uint64_t>(victim - streams_.begin()));
    }
    Stream& st = streams_[next];
    st.waiting = false;
    st.mapped = true;
    ++mapped_count_;
    changed = true;
  }
}

// Processes stream heads until nothing changes: markers complete, barriers whose marker is done
// start counting down, kernels start, drained streams give their hardware queue back.
void SimDevice::pump() {
  for (bool changed = true; changed;) {
    changed = map_waiting();
    for (std::uint64_t s = 0; s < streams_.size(); ++s) {
      Stream& st = streams_[s];
      while (st.mapped && !st.queue.empty() && !st.head_started) {
        Packet& p = st.queue.front();
        if (p.kind == Packet::Kind::marker) {
          markers_[p.marker].done = true;
          unref(p.marker);
        } else if (p.kind == Packet::Kind::remask) {
          st.mask = p.mask;
          for (unsigned g = 0; g < model_.topology.group_count(); ++g)
            st.group_units[g] = (p.mask & model_.topology.group_mask(g)).count();
        } else if (p.kind == Packet::Kind::barrier) {
          if (!markers_[p.marker].done) break;  // blocked until the marker completes
          st.head_started = true;
          st.barrier_release_us = now_ + model_.barrier_packet_us;
          break;
        } else {
          st.head_started = true;
          Running r;
          r.stream = s;
          r.start_us = now_;
          // Demand: the units the kernel occupies: its block count when known (blocks spread over
          // every unit the mask allows, useful or not); otherwise the smallest measured unit count
          // within demand_tolerance of its whole-device time (a kernel given more leaves the rest
          // to co-runners).
          const auto& uc = *p.kernel.unit_counts;
          const auto& us = *p.kernel.us;
          r.demand = uc.back();
          if (p.kernel.max_units > 0) {
            r.demand = p.kernel.max_units;
          } else {
            for (size_t i = 0; i < uc.size(); ++i)
              if (us[i] <= (1.0 + model_.demand_tolerance) * us.back()) {
                r.demand = uc[i];
                break;
              }
          }
          running_.push_back(std::move(r));
          break;
        }
        st.queue.pop_front();
        changed = true;
      }
      if (st.mapped && st.queue.empty()) {
        st.mapped = false;
        --mapped_count_;
        changed = true;
      }
    }
  }
}

// Water-filling per group: each running kernel is entitled to an equal share of the device,
// spread evenly over the units its mask allows, so in a group each kernel whose mask covers it gets
// a share in proportion to its mask's units there over all its mask's units (equal shares when
// the competitors' masks are equal): a kernel that may run anywhere presses less on the units of
// a narrower mask than a kernel confined to them (the dispatcher places blocks by each SM's free
// resources, so a kernel with room elsewhere leaves a partition's SMs to it). A kernel whose total
// reaches its demand is frozen there and its leftover share is redistributed in the next round.
// Writes [kernel * groups + group] into out.
void SimDevice::water_fill(double* out) {
  const Topology& t = model_.topology;
  const size_t G = t.group_count(), R = running_.size();
  const double cr = 1.0 + model_.co_residence;
  cap_.resize(G);
  for (size_t g = 0; g < G; ++g) cap_[g] = cr * t.group_sizes[g];
  std::fill_n(out, R * G, 0.0);
  tentative_.assign(R * G, 0.0);
  frozen_.assign(R, 0);
  sharers_.resize(G);
  weight_sum_.resize(G);
  reach_.resize(R);
  for (size_t k = 0; k < R; ++k) {
    const auto& gu = streams_[running_[k].stream].group_units;
    reach_[k] = std::accumulate(gu.begin(), gu.end(), 0.0);
  }
  for (size_t round = 0; round <= R; ++round) {
    std::fill(sharers_.begin(), sharers_.end(), 0U);
    std::fill(weight_sum_.begin(), weight_sum_.end(), 0.0);
    for (size_t k = 0; k < R; ++k)
      if (!frozen_[k])
        for (size_t g = 0; g < G; ++g) {
          const double gu = streams_[running_[k].stream].group_units[g];
          sharers_[g] += gu > 0;
          weight_sum_[g] += gu / reach_[k];
        }
    bool froze = false;
    for (size_t k = 0; k < R; ++k) {
      if (frozen_[k]) continue;
      const auto& gu = streams_[running_[k].stream].group_units;
      double* tent = &tentative_[k * G];
      double total = 0;
      for (size_t g = 0; g < G; ++g) {
        tent[g] = gu[g] > 0 ? std::min(gu[g], cap_[g] * (gu[g] / reach_[k]) / weight_sum_[g]) : 0.0;
        total += tent[g];
      }
      if (total >= running_[k].demand) {
        // Take the demand from groups no other running kernel wants first, then from the shared
        // ones in proportion, so a shared unit is never left idle while an unshared one would do.
        double need = running_[k].demand, shared = 0;
        for (size_t g = 0; g < G; ++g) {
          if (sharers_[g] == 1 && tent[g] > 0) {
            out[k * G + g] = std::min(tent[g], need);
            need -= out[k * G + g];
          } else {
            shared += tent[g];
          }
        }
        const double scale = shared > 0 ? std::max(0.0, need) / shared : 0.0;
        for (size_t g = 0; g < G; ++g)
          if (!(sharers_[g] == 1 && tent[g] > 0)) out[k * G + g] = tent[g] * scale;
        frozen_[k] = 1;
        froze = true;
      }
    }
    if (!froze) {
      for (size_t k = 0; k < R; ++k)
        if (!frozen_[k]) std::copy_n(&tentative_[k * G], G, &out[k * G]);
      break;
    }
    // Frozen kernels keep their units; the others compete again for what is left.
    for (size_t g = 0; g < G; ++g) {
      double used = 0;
      for (size_t k = 0; k < R; ++k) used += frozen_[k] ? out[k * G + g] : 0.0;
      cap_[g] = std::max(0.0, cr * t.group_sizes[g] - used);
    }
  }
}

// First come, first served (non-preemptive block dispatch): kernels in start order (running_ is
// kept in start order; kernels starting at one instant in stream order), or by_size: largest
// demand first (ties in start order), each take up to their demand of what their mask allows
// and is still free (a group's units times 1 + co_residence), later ones get the rest. Like
// water_fill(), a kernel takes from groups no later kernel wants first, then from the contested
// ones in proportion to what is free there. Writes [kernel * groups + group] into out.
void SimDevice::first_come(double* out, bool by_size) {
  const Topology& t = model_.topology;
  const size_t G = t.group_count(), R = running_.size();
  cap_.resize(G);
  for (size_t g = 0; g < G; ++g) cap_[g] = (1.0 + model_.co_residence) * t.group_sizes[g];
  std::fill_n(out, R * G, 0.0);
  order_.resize(R);
  std::iota(order_.begin(), order_.end(), size_t{0});
  if (by_size)
    std::stable_sort(order_.begin(), order_.end(),
                     [&](size_t a, size_t b) { return running_[a].demand > running_[b].demand; });
  // sharers_[g]: kernels not yet served whose masks cover g.
  sharers_.assign(G, 0U);
  for (size_t k = 0; k < R; ++k)
    for (size_t g = 0; g < G; ++g) sharers_[g] += streams_[running_[k].stream].group_units[g] > 0;
  for (size_t k : order_) {
    const auto& gu = streams_[running_[k].stream].group_units;
    for (size_t g = 0; g < G; ++g) sharers_[g] -= gu[g] > 0;  // now: later kernels only
    double need = running_[k].demand, contested = 0;
    for (size_t g = 0; g < G; ++g) {
      const double free = gu[g] > 0 ? std::min(gu[g], cap_[g]) : 0.0;
      if (sharers_[g] == 0) {
        out[k * G + g] = std::min(free, std::max(0.0, need));
        need -= out[k * G + g];
      } else {
        contested += free;
      }
    }
    const double scale = contested > 0 ? std::min(1.0, std::max(0.0, need) / contested) : 0.0;
    for (size_t g = 0; g < G; ++g) {
      if (sharers_[g] != 0 && gu[g] > 0) out[k * G + g] = std::min(gu[g], cap_[g]) * scale;
      cap_[g] = std::max(0.0, cap_[g] - out[k * G + g]);
    }
  }
}

// Each group's units: the fair_share blend of water-filling and first come, first served (itself
// the size_priority blend of start order and largest first); each kernel's rate at its units,
// slowed by the interference of the units the others hold (at most the device's units in all).
void SimDevice::reallocate() {
  const Topology& t = model_.topology;
  const size_t G = t.group_count(), R = running_.size();
  // Scratch buffers live in the device: this runs at every event, so it must not allocate.
  alloc_.resize(R * G);
  const double f = model_.fair_share, sp = model_.size_priority;
  if (f >= 1.0) {
    water_fill(alloc_.data());
  } else {
    // The first-come part: in start order, blended with largest first by size_priority ...
    first_come(alloc_.data(), false);
    if (sp > 0) {
      scratch_.resize(R * G);
      first_come(scratch_.data(), true);
      for (size_t i = 0; i < R * G; ++i) alloc_[i] = (1 - sp) * alloc_[i] + sp * scratch_[i];
    }
    // ... then with fair water-filling by fair_share.
    if (f > 0) {
      scratch_.resize(R * G);
      water_fill(scratch_.data());
      for (size_t i = 0; i < R * G; ++i) alloc_[i] = f * scratch_[i] + (1.0 - f) * alloc_[i];
    }
  }
  busy_units_ = 0;
  unmetered_busy_units_ = 0;
  for (size_t k = 0; k < R; ++k) {
    running_[k].units = std::accumulate(&alloc_[k * G], &alloc_[k * G] + G, 0.0);
    busy_units_ += running_[k].units;
    if (streams_[running_[k].stream].queue.front().kernel.energy_uj == 0) unmetered_busy_units_ += running_[k].units;
  }
  const double units_total = t.units();
  busy_units_ = std::min(busy_units_, units_total);  // co-resident kernels share units
  unmetered_busy_units_ = std::min(unmetered_busy_units_, units_total);
  metered_w_ = 0;
  for (size_t k = 0; k < R; ++k) {
    Running& r = running_[k];
    const Packet& p = streams_[r.stream].queue.front();
    const double slowdown = 1.0 + model_.bandwidth_slowdown * std::max(0.0, busy_units_ - r.units) / units_total;
    r.rate = r.units > 0
                 ? 1.0 / (slowdown * p.kernel.time_factor * interpolate_us(*p.kernel.unit_counts, *p.kernel.us, r.units))
                 : 0.0;
    metered_w_ += p.kernel.energy_uj * r.rate;  // microjoules per microsecond = watts
    if (trace_) r.alloc.assign(&alloc_[k * G], &alloc_[k * G] + G);
  }
}

double SimDevice::next_event_us() const {
  double t = std::numeric_limits<double>::infinity();
  for (const Running& r : running_)
    if (r.rate > 0) t = std::min(t, now_ + std::max(0.0, 1.0 - r.progress) / r.rate);
  for (const Stream& st : streams_)
    if (st.head_started && !st.queue.empty() && st.queue.front().kind == Packet::Kind::barrier)
      t = std::min(t, st.barrier_release_us);
  return t;
}

void SimDevice::integrate_to(double t) {
  const double dt = t - now_;
  if (dt <= 0) return;
  for (Running& r : running_) r.progress += r.rate * dt;
  const double units = model_.topology.units();
  const double watts = model_.static_w + unmetered_busy_units_ * model_.unit_active_w +
                       (units - unmetered_busy_units_) * model_.unit_idle_w + metered_w_;
  energy_j_ += watts * dt * 1e-6;
  busy_unit_us_ += busy_units_ * dt;
  if (trace_ && !running_.empty()) {
    SimAllocationRecord rec{now_, t, {}, {}, {}};
    for (const Running& r : running_) {
      rec.tags.push_back(streams_[r.stream].queue.front().kernel.tag);
      rec.units.push_back(r.alloc);
      rec.masks.push_back(streams_[r.stream].mask);
    }
    allocation_records_.push_back(std::move(rec));
  }
  now_ = t;
}

void SimDevice::advance_to(double t) {
  if (t < now_) throw Error(Errc::invalid_argument, fmt::format("sim: cannot go back from {} us to {} us", now_, t));
  for (;;) {
    const double te = next_event_us();
    if (te > t) {
      integrate_to(t);
      return;
    }
    integrate_to(te);
    // Completions: a kernel is done when its remaining work is below rounding noise.
    std::vector<std::pair<std::uint64_t, std::uint64_t>>& done = done_;  // (stream, tag), reused
    done.clear();
    for (size_t k = 0; k < running_.size();) {
      Running& r = running_[k];
      if (r.rate > 0 && (1.0 - r.progress) / r.rate <= 1e-9 * std::max(1.0, now_)) {
        Stream& st = streams_[r.stream];
        const std::uint64_t tag = st.queue.front().kernel.tag;
        if (trace_) kernel_records_.push_back(SimKernelRecord{tag, r.stream + 1, st.mask, r.start_us, now_});
        st.queue.pop_front();
        st.head_started = false;
        done.emplace_back(r.stream, tag);
        running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(k));
      } else {
        ++k;
      }
    }
    for (Stream& st : streams_)
      if (st.head_started && !st.queue.empty() && st.queue.front().kind == Packet::Kind::barrier &&
          st.barrier_release_us <= now_) {
        unref(st.queue.front().marker);
        st.queue.pop_front();
        st.head_started = false;
      }
    kernels_completed_ += done.size();
    pump();
    reallocate();
    if (on_kernel_done)
      for (auto [s, tag] : done) on_kernel_done(tag, now_);
  }
}

}  // namespace eclip
