// The stand-in libamdhip64 of the preload tests: the HIP calls the interposer and the test program
// use, with the same C ABI as ROCm 5.2 (declared in src/preload/hip_abi.hpp), plus fakehip_* calls
// that read back what reached it. No GPU: launches are recorded, not run.
#pragma once
#include <cstddef>
#include <cstdint>

#include "hip_abi.hpp"

extern "C" {
enum fakehip_kind {
  FAKEHIP_LAUNCH = 1,  // any kernel launch entry point; tag = *(int*)args[0]
  FAKEHIP_COPY = 2,    // hipMemcpyAsync; tag = size
  FAKEHIP_RECORD = 3,  // hipEventRecord
  FAKEHIP_WAIT = 4,    // hipStreamWaitEvent
  FAKEHIP_SYNC = 5,    // hipStreamSynchronize
};
struct fakehip_op {
  int kind;
  int tag;
  std::uint64_t stream;
  std::uint64_t event;
  const char* entry;  // the entry point that was called
};
/// Every recorded operation in call order.
std::size_t fakehip_ops(const fakehip_op** out);
/// hipEventQuery answers hipSuccess (1) or hipErrorNotReady (0, the default).
void fakehip_set_events_complete(int complete);
/// The CU-mask words a stream was created with (returns how many; 0: unmasked or unknown).
int fakehip_stream_mask(std::uint64_t stream, std::uint32_t* words, int max);
/// The name hipKernelNameRef(ByPtr) gives kernel `f` (default "kernel@<address>"; null: none).
void fakehip_set_kernel_name(const void* f, const char* name);
/// Streams created through hipExtStreamCreateWithCUMask.
int fakehip_masked_streams(void);
hipError_t hipStreamCreate(hipStream_t* stream);
hipError_t hipStreamEndCapture(hipStream_t stream, void** graph);
}
