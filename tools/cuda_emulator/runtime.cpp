// The CUDA runtime calls tdseg makes, on host memory: one emulated device, synchronous
// streams, events that read the host clock. New allocations are filled with 0xff bytes so
// that a kernel reading memory nobody wrote sees NaN.
#include <cuda_runtime.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "host_calls.h"
#include "traffic_hooks.h"

namespace {
std::atomic<uint64_t> g_syncs{0}, g_mallocs{0}, g_frees{0};

// hold_events: an event recorded while held completes at the next release, g_releases
// then reaching its pending_until; 0 is complete from the start.
std::atomic<bool> g_hold{false};
std::atomic<uint64_t> g_releases{0};

struct Event {
  double ms = 0;
  uint64_t pending_until = 0;
};
double now_ms() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

emu::host_calls::Counts emu::host_calls::counts() { return {g_syncs.load(), g_mallocs.load(), g_frees.load()}; }

void emu::host_calls::hold_events(bool hold) {
  if (!hold) ++g_releases;
  g_hold = hold;
}

extern "C" {
cudaError_t cudaMalloc(void** p, size_t n) {
  ++g_mallocs;
  *p = std::malloc(n ? n : 1);
  if (!*p) return cudaErrorMemoryAllocation;
  std::memset(*p, 0xff, n);
  emu::traffic::on_alloc(*p, n);
  return cudaSuccess;
}
cudaError_t cudaFree(void* p) {
  ++g_frees;
  emu::traffic::on_free(p);
  std::free(p);
  return cudaSuccess;
}
// Page-locked memory is ordinary memory here, filled like device memory.
cudaError_t cudaHostAlloc(void** p, size_t n, unsigned) { return cudaMalloc(p, n); }
cudaError_t cudaFreeHost(void* p) { return cudaFree(p); }
cudaError_t cudaMemcpyAsync(void* d, const void* s, size_t n, cudaMemcpyKind, cudaStream_t) {
  std::memmove(d, s, n);
  return cudaSuccess;
}
cudaError_t cudaMemcpy2DAsync(void* d, size_t dpitch, const void* s, size_t spitch, size_t width,
                              size_t height, cudaMemcpyKind, cudaStream_t) {
  if (width > dpitch || width > spitch) return cudaErrorInvalidPitchValue;
  for (size_t r = 0; r < height; ++r)
    std::memmove(static_cast<char*>(d) + r * dpitch, static_cast<const char*>(s) + r * spitch,
                 width);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* p, int v, size_t n, cudaStream_t) {
  std::memset(p, v, n);
  return cudaSuccess;
}
cudaError_t cudaMemcpyPeerAsync(void* d, int, const void* s, int, size_t n, cudaStream_t) {
  std::memmove(d, s, n);
  return cudaSuccess;
}
cudaError_t cudaGetDeviceCount(int* n) {
  *n = 1;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int d) { return d == 0 ? cudaSuccess : cudaErrorInvalidDevice; }
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int d) {
  if (d != 0) return cudaErrorInvalidDevice;
  std::memset(p, 0, sizeof *p);
  std::strcpy(p->name, "tdseg CPU emulation of a CUDA device");
  p->totalGlobalMem = size_t(80) << 30;
  p->sharedMemPerBlock = 48 * 1024;
  p->sharedMemPerBlockOptin = 227 * 1024;
  p->warpSize = 32;
  p->maxThreadsPerBlock = 1024;
  p->multiProcessorCount = 132;
  p->major = 9;
  p->minor = 0;
  p->memoryBusWidth = 5120;
  p->l2CacheSize = 50 << 20;
  return cudaSuccess;
}
cudaError_t cudaDeviceGetAttribute(int* v, cudaDeviceAttr a, int) {
  *v = a == cudaDevAttrMultiProcessorCount ? 132 : a == cudaDevAttrMaxPitch ? 0x7fffffff : 0;
  return cudaSuccess;
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  *s = reinterpret_cast<cudaStream_t>(new char);
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t s) {
  delete reinterpret_cast<char*>(s);
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) {
  ++g_syncs;
  ++g_releases;  // what was queued before has completed (one stream per device)
  return cudaSuccess;
}
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned) {
  *e = reinterpret_cast<cudaEvent_t>(new Event);
  return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t e) {
  delete reinterpret_cast<Event*>(e);
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t) {
  Event* ev = reinterpret_cast<Event*>(e);
  ev->ms = now_ms();
  ev->pending_until = g_hold ? g_releases + 1 : 0;
  return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t e) {
  ++g_syncs;
  reinterpret_cast<Event*>(e)->pending_until = 0;
  return cudaSuccess;
}
// Streams are synchronous: an event is complete unless hold_events keeps it pending.
cudaError_t cudaEventQuery(cudaEvent_t e) {
  return reinterpret_cast<Event*>(e)->pending_until > g_releases ? cudaErrorNotReady : cudaSuccess;
}
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t a, cudaEvent_t b) {
  *ms = float(reinterpret_cast<Event*>(b)->ms - reinterpret_cast<Event*>(a)->ms);
  return cudaSuccess;
}
cudaError_t cudaGetLastError() { return cudaSuccess; }
const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess:
      return "no error";
    case cudaErrorMemoryAllocation:
      return "out of memory";
    case cudaErrorInvalidDevice:
      return "invalid device ordinal";
    case cudaErrorInvalidPitchValue:
      return "invalid pitch argument";
    default:
      return "emulated CUDA error";
  }
}
cudaError_t cudaRuntimeGetVersion(int* v) {
  *v = 13000;
  return cudaSuccess;
}
}
