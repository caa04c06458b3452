// A caching allocator for device memory, in the manner of PyTorch's: freed blocks go to
// per-size free lists and are handed out again, so that a training loop in its steady
// state makes no cudaMalloc or cudaFree calls (both synchronise the device).
//
// Sizes are rounded up to a size class: multiples of 512 B below 1 MiB, of 2 MiB above;
// a request is served from the free list of its class or, failing that, by the raw
// allocator (on failure the cache is emptied and the request tried once more). Blocks
// are never split or merged. With one stream per device (tdseg's design) a block freed
// and reused by kernels on that stream needs no event: the stream orders them.
//
// Uncached (TDSEG_CUDA_CACHING=0 in the environment, read by cuda::Context and the pinned
// pool), every request
// goes to the raw allocator at its exact size and every free straight back: slower, but a
// memory checker (compute-sanitizer memcheck, or AddressSanitizer under the CPU emulation)
// then sees each tensor's bounds instead of its size class's.
//
// The logic is host code over an abstract RawAllocator, so it is tested on machines
// without a GPU; cuda/device_memory.h provides the CUDA one.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace tdseg {

class RawAllocator {
 public:
  virtual ~RawAllocator() = default;
  virtual void* allocate(size_t bytes) = 0;  // nullptr when out of memory
  virtual void release(void* p) = 0;
};

class CachingAllocator {
 public:
  struct Stats {
    size_t in_use = 0;      // bytes handed out and not yet freed (size classes)
    size_t peak = 0;        // the most in_use has been
    size_t cached = 0;      // bytes in free lists
    int64_t raw_allocations = 0, raw_releases = 0;  // calls to the raw allocator
  };

  explicit CachingAllocator(RawAllocator& raw, bool caching = true) : raw_(raw), caching_(caching) {}
  ~CachingAllocator();  // returns every cached block; blocks still in use are reported lost
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  void* allocate(size_t bytes);  // throws std::bad_alloc when the device is full
  void free(void* p);            // p from allocate(); nullptr is ignored
  void empty_cache();            // releases every cached block to the raw allocator
  void reset_peak();             // peak <- in_use: the next peak is that of what follows
  Stats stats() const;

  static size_t size_class(size_t bytes);
  // False when TDSEG_CUDA_CACHING=0 is in the environment (above).
  static bool caching_from_environment();

 private:
  void release_cached();  // with mutex_ held

  RawAllocator& raw_;
  const bool caching_;
  mutable std::mutex mutex_;
  std::map<size_t, std::vector<void*>> free_;  // size class -> cached blocks
  std::unordered_map<void*, size_t> live_;     // block -> size class
  Stats stats_;
};

}  // namespace tdseg
