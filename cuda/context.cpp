#include "cuda/context.h"

#include <array>
#include <atomic>
#include <mutex>
#include <string>

namespace tdseg::cuda {

namespace {

constexpr int kMaxDevices = 16;

// cudaMalloc and cudaFree behind the caching allocator; out of memory is nullptr.
struct CudaRawAllocator : RawAllocator {
  void* allocate(size_t bytes) override {
    void* p = nullptr;
    const cudaError_t err = cudaMalloc(&p, bytes);
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();  // clear it: the caller empties the cache and retries
      return nullptr;
    }
    TDSEG_CUDA_CHECK(err);
    return p;
  }
  void release(void* p) override { TDSEG_CUDA_CHECK(cudaFree(p)); }
};

int set_current(int device) {
  TDSEG_CUDA_CHECK(cudaSetDevice(device));
  return device;
}

std::atomic<bool> g_allow_tf32{true};

}  // namespace

Context::Context(int d)
    : device(set_current(d)),
      stream(),
      blas(stream.get()),
      dnn(stream.get()),
      raw(std::make_unique<CudaRawAllocator>()),
      allocator(*raw, CachingAllocator::caching_from_environment()) {
  TDSEG_CUDA_CHECK(cudaDeviceGetAttribute(&sm_count, cudaDevAttrMultiProcessorCount, d));
}

Context& context(int device) {
  // The contexts are never destroyed: at exit the CUDA runtime may already be torn down,
  // and freeing device memory then fails. The driver reclaims everything at exit.
  // Every launch comes here, so a made context is found without the lock.
  static std::array<std::atomic<Context*>, kMaxDevices> contexts{};
  static std::mutex mutex;
  check<DeviceError>(device >= 0 && device < kMaxDevices, "cuda: no device ", device);
  thread_local int current = -1;
  Context* c = contexts[device].load(std::memory_order_acquire);
  if (!c) {
    std::lock_guard<std::mutex> lock(mutex);
    c = contexts[device].load(std::memory_order_relaxed);
    if (!c) {
      int count = 0;
      const cudaError_t err = cudaGetDeviceCount(&count);
      if (err != cudaSuccess) cudaGetLastError();
      check<DeviceError>(err == cudaSuccess && device < count, "cuda:", device,
                         " is not available (", err == cudaSuccess
                             ? cat(count, " CUDA devices visible")
                             : std::string(cudaGetErrorString(err)), ")");
      c = new Context(device);
      contexts[device].store(c, std::memory_order_release);
      current = device;
    }
  }
  if (current != device) current = set_current(device);
  return *c;
}

void set_allow_tf32(bool on) { g_allow_tf32 = on; }
bool allow_tf32() { return g_allow_tf32; }

CachingAllocator::Stats memory_stats(int device) { return context(device).allocator.stats(); }

void empty_cache(int device) {
  Context& c = context(device);
  c.stream.synchronize();  // blocks may still be read by queued kernels
  c.allocator.empty_cache();
}

void synchronize(int device) { context(device).stream.synchronize(); }

}  // namespace tdseg::cuda
