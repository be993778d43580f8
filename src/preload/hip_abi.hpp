#pragma once
// The slice of the HIP (ROCm 5.x) C ABI the AMD interposer needs, declared here so the preload
// library builds without ROCm and never links libamdhip64 (it reaches it through dlsym). Layouts
// and values as in ROCm 5.2's hip/hip_runtime_api.h and hip/hip_ext.h.
#include <cstddef>
#include <cstdint>

extern "C" {
typedef int hipError_t;  // an int-sized enum in HIP
constexpr hipError_t hipSuccess = 0;
constexpr hipError_t hipErrorSharedObjectInitFailed = 303;
constexpr hipError_t hipErrorNotReady = 600;
constexpr unsigned hipStreamNonBlocking = 0x1;
constexpr unsigned hipEventDisableTiming = 0x2;
constexpr int hipDeviceAttributeMultiprocessorCount = 63;  // ROCm 5.x hipDeviceAttribute_t
constexpr int hipStreamCaptureStatusNone = 0;

struct dim3 {
  std::uint32_t x, y, z;
};
typedef struct ihipStream_t* hipStream_t;
typedef struct ihipEvent_t* hipEvent_t;
typedef struct ihipModuleSymbol_t* hipFunction_t;
typedef struct hipGraphExec* hipGraphExec_t;
typedef void* hipDeviceptr_t;
typedef int hipMemcpyKind;
typedef int hipStreamCaptureMode;
typedef int hipStreamCaptureStatus;
typedef void (*hipStreamCallback_t)(hipStream_t stream, hipError_t status, void* userData);
typedef void (*hipHostFn_t)(void* userData);

// Launches (routed).
hipError_t hipLaunchKernel(const void* function_address, dim3 numBlocks, dim3 dimBlocks, void** args,
                           size_t sharedMemBytes, hipStream_t stream);
hipError_t hipExtLaunchKernel(const void* function_address, dim3 numBlocks, dim3 dimBlocks, void** args,
                              size_t sharedMemBytes, hipStream_t stream, hipEvent_t startEvent, hipEvent_t stopEvent,
                              int flags);
hipError_t hipModuleLaunchKernel(hipFunction_t f, unsigned gridDimX, unsigned gridDimY, unsigned gridDimZ,
                                 unsigned blockDimX, unsigned blockDimY, unsigned blockDimZ, unsigned sharedMemBytes,
                                 hipStream_t stream, void** kernelParams, void** extra);
hipError_t hipExtModuleLaunchKernel(hipFunction_t f, std::uint32_t globalWorkSizeX, std::uint32_t globalWorkSizeY,
                                    std::uint32_t globalWorkSizeZ, std::uint32_t localWorkSizeX,
                                    std::uint32_t localWorkSizeY, std::uint32_t localWorkSizeZ, size_t sharedMemBytes,
                                    hipStream_t hStream, void** kernelParams, void** extra, hipEvent_t startEvent,
                                    hipEvent_t stopEvent, std::uint32_t flags);
hipError_t hipHccModuleLaunchKernel(hipFunction_t f, std::uint32_t globalWorkSizeX, std::uint32_t globalWorkSizeY,
                                    std::uint32_t globalWorkSizeZ, std::uint32_t localWorkSizeX,
                                    std::uint32_t localWorkSizeY, std::uint32_t localWorkSizeZ, size_t sharedMemBytes,
                                    hipStream_t hStream, void** kernelParams, void** extra, hipEvent_t startEvent,
                                    hipEvent_t stopEvent);
// Launches that must stay on the application's stream (ordered, never routed).
hipError_t hipLaunchCooperativeKernel(const void* f, dim3 gridDim, dim3 blockDim, void** kernelParams,
                                      unsigned sharedMemBytes, hipStream_t stream);

// Other stream operations (the stream's routed work is joined first).
hipError_t hipMemcpyAsync(void* dst, const void* src, size_t sizeBytes, hipMemcpyKind kind, hipStream_t stream);
hipError_t hipMemcpyWithStream(void* dst, const void* src, size_t sizeBytes, hipMemcpyKind kind, hipStream_t stream);
hipError_t hipMemcpyHtoDAsync(hipDeviceptr_t dst, void* src, size_t sizeBytes, hipStream_t stream);
hipError_t hipMemcpyDtoHAsync(void* dst, hipDeviceptr_t src, size_t sizeBytes, hipStream_t stream);
hipError_t hipMemcpyDtoDAsync(hipDeviceptr_t dst, hipDeviceptr_t src, size_t sizeBytes, hipStream_t stream);
hipError_t hipMemcpy2DAsync(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width, size_t height,
                            hipMemcpyKind kind, hipStream_t stream);
hipError_t hipMemcpyPeerAsync(void* dst, int dstDeviceId, const void* src, int srcDevice, size_t sizeBytes,
                              hipStream_t stream);
hipError_t hipMemsetAsync(void* dst, int value, size_t sizeBytes, hipStream_t stream);
hipError_t hipMemsetD8Async(hipDeviceptr_t dest, unsigned char value, size_t count, hipStream_t stream);
hipError_t hipMemsetD16Async(hipDeviceptr_t dest, unsigned short value, size_t count, hipStream_t stream);
hipError_t hipMemsetD32Async(hipDeviceptr_t dst, int value, size_t count, hipStream_t stream);
hipError_t hipMemPrefetchAsync(const void* dev_ptr, size_t count, int device, hipStream_t stream);
hipError_t hipMallocAsync(void** dev_ptr, size_t size, hipStream_t stream);
hipError_t hipFreeAsync(void* dev_ptr, hipStream_t stream);
hipError_t hipEventRecord(hipEvent_t event, hipStream_t stream);
hipError_t hipStreamWaitEvent(hipStream_t stream, hipEvent_t event, unsigned int flags);
hipError_t hipStreamSynchronize(hipStream_t stream);
hipError_t hipStreamQuery(hipStream_t stream);
hipError_t hipStreamAddCallback(hipStream_t stream, hipStreamCallback_t callback, void* userData, unsigned int flags);
hipError_t hipLaunchHostFunc(hipStream_t stream, hipHostFn_t fn, void* userData);
hipError_t hipStreamBeginCapture(hipStream_t stream, hipStreamCaptureMode mode);
hipError_t hipGraphLaunch(hipGraphExec_t graphExec, hipStream_t stream);
hipError_t hipStreamDestroy(hipStream_t stream);

// Called, not interposed.
hipError_t hipStreamIsCapturing(hipStream_t stream, hipStreamCaptureStatus* pCaptureStatus);
hipError_t hipStreamCreateWithFlags(hipStream_t* stream, unsigned int flags);
hipError_t hipExtStreamCreateWithCUMask(hipStream_t* stream, std::uint32_t cuMaskSize, const std::uint32_t* cuMask);
hipError_t hipEventCreateWithFlags(hipEvent_t* event, unsigned flags);
hipError_t hipEventQuery(hipEvent_t event);
hipError_t hipEventDestroy(hipEvent_t event);
hipError_t hipGetDevice(int* deviceId);
hipError_t hipDeviceGetAttribute(int* pi, int attr, int deviceId);
const char* hipGetErrorName(hipError_t hip_error);
// Kernel names for ECLIP_TRACE (hip_runtime_api.h of ROCm 5.2, used by roctracer).
const char* hipKernelNameRef(const hipFunction_t f);
const char* hipKernelNameRefByPtr(const void* hostFunction, hipStream_t stream);
}
