#include "cuda/pinned_memory.h"

#include <algorithm>

namespace tdseg::cuda {

namespace {

// cudaHostAlloc and cudaFreeHost behind the cache. Out of memory is nullptr (the cache is
// emptied and the request tried again); no usable device is an error that says so.
struct PinnedRawAllocator : RawAllocator {
  void* allocate(size_t bytes) override {
    void* p = nullptr;
    const cudaError_t err = cudaHostAlloc(&p, bytes, cudaHostAllocPortable);
    if (err == cudaSuccess) return p;
    cudaGetLastError();
    if (err == cudaErrorMemoryAllocation) return nullptr;
    throw DeviceError(cat("pinned host memory: cudaHostAlloc of ", bytes,
                          " bytes failed: ", cudaGetErrorString(err)));
  }
  void release(void* p) override { TDSEG_CUDA_CHECK(cudaFreeHost(p)); }
};

// Drops the completed events of `copies`; true when none is left. Throws CudaError after
// a device failure.
bool prune(std::vector<Event>& copies) {
  copies.erase(std::remove_if(copies.begin(), copies.end(), [](const Event& e) { return e.done(); }),
               copies.end());
  return copies.empty();
}

}  // namespace

PinnedPool::PinnedPool()
    : raw_(std::make_unique<PinnedRawAllocator>()),
      cache_(*raw_, CachingAllocator::caching_from_environment()) {}

void* PinnedPool::allocate(size_t bytes) {
  reclaim();
  void* p = cache_.allocate(bytes);
  std::lock_guard<std::mutex> lock(mutex_);
  blocks_[reinterpret_cast<uintptr_t>(p)].bytes = std::max<size_t>(bytes, 1);
  return p;
}

void PinnedPool::release(void* p) {
  if (!p) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = blocks_.find(reinterpret_cast<uintptr_t>(p));
  check<ValueError>(it != blocks_.end(), "pinned memory: release of a pointer it did not allocate");
  std::vector<Event> copies = std::move(it->second.copies);
  blocks_.erase(it);
  try {
    if (prune(copies))
      cache_.free(p);
    else
      released_.push_back({p, std::move(copies)});
  } catch (const CudaError&) {
    // The device has failed: a copy may still hold the block, so it is not reused.
  }
}

void PinnedPool::reclaim() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (size_t k = 0; k < released_.size();) {
    bool done = false, failed = false;
    try {
      done = prune(released_[k].copies);
    } catch (const CudaError&) {
      failed = true;  // as in release: left out of the cache
    }
    if (!done && !failed) {
      ++k;
      continue;
    }
    if (done) cache_.free(released_[k].p);
    released_.erase(released_.begin() + static_cast<std::ptrdiff_t>(k));
  }
}

bool PinnedPool::record_copy(const void* p, size_t bytes, cudaStream_t stream) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = blocks_.upper_bound(a);  // the first block that starts after p
  if (it == blocks_.begin()) return false;
  --it;
  Block& b = it->second;
  if (a + bytes > it->first + b.bytes) return false;
  // A batch is copied once or twice, a long-lived staging buffer many times: drop the
  // events that have completed, so that the list stays as short as the queue.
  prune(b.copies);
  b.copies.emplace_back(cudaEventDisableTiming);
  b.copies.back().record(stream);
  return true;
}

PinnedPool& pinned_pool() {
  // Never destroyed, like the device contexts: at exit the runtime may be gone already.
  static PinnedPool* pool = new PinnedPool();
  return *pool;
}

}  // namespace tdseg::cuda
