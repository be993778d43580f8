#pragma once
// Kernels for the hardware tests (device_kernels.hip, compiled by hipcc), called from host code
// compiled by the project's C++ compiler.
#include <cstdint>

#include <hip/hip_runtime_api.h>

namespace eclip::testing {

/// Where a wave ran, decoded from the gfx9 HW_ID register (s_getreg HW_REG_HW_ID) and, on
/// gfx94x, HW_REG_XCC_ID.
struct WavePlace {
  std::uint32_t hw_id = 0;
  std::uint32_t xcc_id = 0;
  unsigned cu() const noexcept { return (hw_id >> 8) & 0xfU; }
  unsigned array() const noexcept { return (hw_id >> 12) & 0x1U; }
  unsigned engine() const noexcept { return (hw_id >> 13) & 0x7U; }
  unsigned xcc() const noexcept { return xcc_id & 0xfU; }
};

/// Launches `blocks` one-wave blocks on `stream`; block b spins ~`spin_cycles` GPU clocks and
/// stores where it ran into places[b].
hipError_t launch_where_am_i(hipStream_t stream, unsigned blocks, WavePlace* places, long long spin_cycles);
/// One thread spins ~`spin_cycles` then stores 1 into *flag (release, system scope).
hipError_t launch_spin_then_set(hipStream_t stream, int* flag, long long spin_cycles);
/// One thread copies *flag into *seen.
hipError_t launch_read_flag(hipStream_t stream, const int* flag, int* seen);
/// x[i] = x[i] * 3 + step + 1 for i < n: an order-dependent update, so a reordered chain shows.
/// Its host address, for eclip::hip::launch(router, w, address, grid, block, 0, args).
const void* step_kernel_address();

}  // namespace eclip::testing
