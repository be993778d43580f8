// libfake_amdhip64.so: see fake_hip.h.
#include "fake_hip.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace {
std::mutex g_mutex;
std::vector<fakehip_op> g_ops;
std::map<std::uint64_t, std::vector<std::uint32_t>> g_masks;
std::set<std::uint64_t> g_capturing;
int g_events_complete = 0;
std::uint64_t g_next = 0x1000;

std::uint64_t fresh() { return g_next += 0x10; }
void log(int kind, int tag, std::uint64_t stream, std::uint64_t event, const char* entry) {
  std::lock_guard lock(g_mutex);
  g_ops.push_back({kind, tag, stream, event, entry});
}
std::uint64_t h(const void* p) { return reinterpret_cast<std::uint64_t>(p); }
int tag_of(void** args) { return args && args[0] ? *static_cast<int*>(args[0]) : -1; }
}  // namespace

#define FAKE extern "C" __attribute__((visibility("default")))

FAKE std::size_t fakehip_ops(const fakehip_op** out) {
  std::lock_guard lock(g_mutex);
  *out = g_ops.data();
  return g_ops.size();
}
FAKE void fakehip_set_events_complete(int complete) { g_events_complete = complete; }
FAKE int fakehip_stream_mask(std::uint64_t stream, std::uint32_t* words, int max) {
  std::lock_guard lock(g_mutex);
  auto it = g_masks.find(stream);
  if (it == g_masks.end()) return 0;
  int n = 0;
  for (std::uint32_t w : it->second)
    if (n < max) words[n++] = w;
  return n;
}
FAKE int fakehip_masked_streams(void) {
  std::lock_guard lock(g_mutex);
  return static_cast<int>(g_masks.size());
}

FAKE hipError_t hipGetDevice(int* d) { return *d = 0, hipSuccess; }
FAKE hipError_t hipDeviceGetAttribute(int* v, int attr, int) {
  if (attr != hipDeviceAttributeMultiprocessorCount) return 1;
  const char* cus = std::getenv("FAKEHIP_CUS");
  *v = cus ? std::atoi(cus) : 60;  // an MI50
  return hipSuccess;
}
FAKE const char* hipGetErrorName(hipError_t e) { return e == hipErrorNotReady ? "hipErrorNotReady" : "hipErrorFake"; }
// Kernel names: what fakehip_set_kernel_name registered, else "kernel@<address>" (the stand-in
// has no code objects).
std::map<const void*, std::string>& kernel_names() {
  static std::map<const void*, std::string> m;
  return m;
}
std::set<const void*>& nameless() {
  static std::set<const void*> s;
  return s;
}
FAKE void fakehip_set_kernel_name(const void* f, const char* name) {
  std::lock_guard lock(g_mutex);
  if (name) kernel_names()[f] = name;
  else nameless().insert(f);
}
FAKE const char* hipKernelNameRefByPtr(const void* f, hipStream_t) {
  {
    std::lock_guard lock(g_mutex);
    if (auto it = kernel_names().find(f); it != kernel_names().end()) return it->second.c_str();
    if (nameless().count(f)) return nullptr;
  }
  static thread_local char name[64];
  std::snprintf(name, sizeof name, "kernel@%p", f);
  return name;
}
FAKE const char* hipKernelNameRef(const hipFunction_t f) { return hipKernelNameRefByPtr(f, nullptr); }
FAKE hipError_t hipStreamCreate(hipStream_t* s) {
  std::lock_guard lock(g_mutex);
  *s = reinterpret_cast<hipStream_t>(fresh());
  return hipSuccess;
}
FAKE hipError_t hipStreamCreateWithFlags(hipStream_t* s, unsigned) { return hipStreamCreate(s); }
FAKE hipError_t hipExtStreamCreateWithCUMask(hipStream_t* s, std::uint32_t n, const std::uint32_t* words) {
  std::lock_guard lock(g_mutex);
  *s = reinterpret_cast<hipStream_t>(fresh());
  g_masks[h(*s)] = std::vector<std::uint32_t>(words, words + n);
  return hipSuccess;
}
FAKE hipError_t hipStreamDestroy(hipStream_t) { return hipSuccess; }
FAKE hipError_t hipEventCreateWithFlags(hipEvent_t* e, unsigned) {
  std::lock_guard lock(g_mutex);
  *e = reinterpret_cast<hipEvent_t>(fresh());
  return hipSuccess;
}
FAKE hipError_t hipEventDestroy(hipEvent_t) { return hipSuccess; }
FAKE hipError_t hipEventRecord(hipEvent_t e, hipStream_t s) {
  log(FAKEHIP_RECORD, 0, h(s), h(e), "hipEventRecord");
  return hipSuccess;
}
FAKE hipError_t hipEventQuery(hipEvent_t) { return g_events_complete ? hipSuccess : hipErrorNotReady; }
FAKE hipError_t hipStreamWaitEvent(hipStream_t s, hipEvent_t e, unsigned) {
  log(FAKEHIP_WAIT, 0, h(s), h(e), "hipStreamWaitEvent");
  return hipSuccess;
}
FAKE hipError_t hipStreamSynchronize(hipStream_t s) {
  log(FAKEHIP_SYNC, 0, h(s), 0, "hipStreamSynchronize");
  return hipSuccess;
}
FAKE hipError_t hipMemcpyAsync(void*, const void*, size_t n, hipMemcpyKind, hipStream_t s) {
  log(FAKEHIP_COPY, static_cast<int>(n), h(s), 0, "hipMemcpyAsync");
  return hipSuccess;
}
FAKE hipError_t hipStreamBeginCapture(hipStream_t s, hipStreamCaptureMode) {
  std::lock_guard lock(g_mutex);
  g_capturing.insert(h(s));
  return hipSuccess;
}
FAKE hipError_t hipStreamEndCapture(hipStream_t s, void** graph) {
  std::lock_guard lock(g_mutex);
  g_capturing.erase(h(s));
  if (graph) *graph = nullptr;
  return hipSuccess;
}
FAKE hipError_t hipStreamIsCapturing(hipStream_t s, hipStreamCaptureStatus* st) {
  std::lock_guard lock(g_mutex);
  *st = g_capturing.count(h(s)) ? 1 : hipStreamCaptureStatusNone;
  return hipSuccess;
}
FAKE hipError_t hipLaunchKernel(const void*, dim3, dim3, void** args, size_t, hipStream_t s) {
  log(FAKEHIP_LAUNCH, tag_of(args), h(s), 0, "hipLaunchKernel");
  return hipSuccess;
}
FAKE hipError_t hipModuleLaunchKernel(hipFunction_t, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                                      unsigned, hipStream_t s, void** params, void**) {
  log(FAKEHIP_LAUNCH, tag_of(params), h(s), 0, "hipModuleLaunchKernel");
  return hipSuccess;
}
FAKE hipError_t hipExtModuleLaunchKernel(hipFunction_t, std::uint32_t, std::uint32_t, std::uint32_t, std::uint32_t,
                                         std::uint32_t, std::uint32_t, size_t, hipStream_t s, void** params, void**,
                                         hipEvent_t, hipEvent_t, std::uint32_t) {
  log(FAKEHIP_LAUNCH, tag_of(params), h(s), 0, "hipExtModuleLaunchKernel");
  return hipSuccess;
}
FAKE hipError_t hipExtLaunchKernel(const void*, dim3, dim3, void** args, size_t, hipStream_t s, hipEvent_t,
                                   hipEvent_t, int) {
  log(FAKEHIP_LAUNCH, tag_of(args), h(s), 0, "hipExtLaunchKernel");
  return hipSuccess;
}
FAKE hipError_t hipLaunchCooperativeKernel(const void*, dim3, dim3, void** args, unsigned, hipStream_t s) {
  log(FAKEHIP_LAUNCH, tag_of(args), h(s), 0, "hipLaunchCooperativeKernel");
  return hipSuccess;
}
