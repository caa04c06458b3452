// Page-locked ("pinned") host memory, the staging area of host-to-device copies: the data
// loader writes each batch into it, and the copy to the GPU is then a DMA that the host
// does not wait for. A copy from ordinary (pageable) memory is staged by the driver
// through a bounce buffer, and tdseg waits for it (device_memory::copy).
//
// The pool caches blocks like the device's CachingAllocator (its size classes and
// statistics), as cudaHostAlloc and cudaFreeHost are costly calls (the second may
// synchronise the device). What it adds is the rule that makes the copy safe without a
// wait (PyTorch's CachingHostAllocator's): every asynchronous copy from or into a block
// records an event on the copy's stream, and a block freed by its tensor goes back to the
// cache only once those events have completed. Until then it waits in a list that each
// allocation looks through first; neither the release nor the allocation waits for the
// device. The tensor's owner may so drop a batch, or a kernel's staged arguments, as soon
// as its copy is queued; while a copy is pending, its block is not handed out again (a
// request in that time is served by another block, or a new one).
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

  // Takes back the released blocks whose copies have completed, then serves the request.
  void* allocate(size_t bytes);  // throws DeviceError where no CUDA device is usable
  // Caches p's block if the copies recorded on it have completed, else puts it aside
  // until they have; never waits. A device failure does not make it throw (a tensor's
  // destructor calls it): the block is left out of the cache instead. A pointer the pool
  // did not hand out is a programming error, a ValueError.
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
  struct Released {
    void* p;
    std::vector<Event> copies;  // not all completed when its tensor let it go
  };

  void reclaim();  // caches the released blocks whose copies have now completed

  std::unique_ptr<RawAllocator> raw_;
  CachingAllocator cache_;
  std::mutex mutex_;
  std::map<uintptr_t, Block> blocks_;  // the blocks handed out, by start address
  std::vector<Released> released_;     // let go, a copy still pending
};

PinnedPool& pinned_pool();

}  // namespace tdseg::cuda
