// Page-locked ("pinned") host memory, the staging area of host-to-device copies: the data
// loader writes each batch into it, and the copy to the GPU is then a DMA that the host
// does not wait for. A copy from ordinary (pageable) memory is staged by the driver
// through a bounce buffer, and tdseg waits for it (device_memory::copy).
//
// The pool caches blocks like the device's CachingAllocator (its size classes and
// statistics), as cudaHostAlloc and cudaFreeHost are costly calls (the second may
// synchronise the device). What
// it adds is the rule that makes the copy safe without a wait: every asynchronous copy
// from or into a block records an event on the copy's stream, and a block freed by its
// tensor goes back to the cache only once those events have completed. The tensor's
// owner may so drop a batch as soon as its copy is queued.
//
// One pool for the process: the memory is allocated portable, usable by every device.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "cuda/caching_allocator.h"
#include "cuda/stream.h"

namespace tdseg::cuda {

class PinnedPool {
 public:
  PinnedPool();
  PinnedPool(const PinnedPool&) = delete;
  PinnedPool& operator=(const PinnedPool&) = delete;

  void* allocate(size_t bytes);  // throws DeviceError where no CUDA device is usable
  // Waits for the copies recorded on p's block (most have long finished), then caches it.
  // Does not throw (a tensor's destructor calls it): after a device failure the block is
  // left out of the cache instead.
  void release(void* p);
  // When [p, p + bytes) lies in one of the pool's blocks: records that a copy queued on
  // `stream` reads or writes it, and returns true. False for any other host memory. The
  // stream's device must be current (cuda::context() makes it so).
  bool record_copy(const void* p, size_t bytes, cudaStream_t stream);

  CachingAllocator::Stats stats() const { return cache_.stats(); }

 private:
  struct Block {
    size_t bytes = 0;
    std::vector<Event> copies;  // events of queued copies, pruned as they complete
  };

  std::unique_ptr<RawAllocator> raw_;
  CachingAllocator cache_;
  std::mutex mutex_;
  std::map<uintptr_t, Block> blocks_;  // the blocks handed out, by start address
};

PinnedPool& pinned_pool();

}  // namespace tdseg::cuda
