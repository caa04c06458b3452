#include "cuda/caching_allocator.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <new>

#include "core/error.h"

namespace tdseg {

namespace {
constexpr size_t kSmallGranule = 512, kLargeGranule = 2 << 20, kLargeFrom = 1 << 20;
}

size_t CachingAllocator::size_class(size_t bytes) {
  const size_t g = bytes < kLargeFrom ? kSmallGranule : kLargeGranule;
  return std::max<size_t>(1, (bytes + g - 1) / g) * g;
}

bool CachingAllocator::caching_from_environment() {
  const char* e = std::getenv("TDSEG_CUDA_CACHING");
  return !(e && std::string(e) == "0");
}

void* CachingAllocator::allocate(size_t bytes) {
  const size_t size = caching_ ? size_class(bytes) : std::max<size_t>(bytes, 1);
  std::lock_guard<std::mutex> lock(mutex_);
  void* p = nullptr;
  auto it = free_.find(size);
  if (it != free_.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
    stats_.cached -= size;
  } else {
    p = raw_.allocate(size);
    if (!p) {  // out of memory: give the cache back and try once more
      release_cached();
      p = raw_.allocate(size);
      if (!p) throw std::bad_alloc();
    }
    ++stats_.raw_allocations;
  }
  live_[p] = size;
  stats_.in_use += size;
  stats_.peak = std::max(stats_.peak, stats_.in_use);
  return p;
}

void CachingAllocator::free(void* p) {
  if (!p) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = live_.find(p);
  check<ValueError>(it != live_.end(), "caching allocator: free of a pointer it did not allocate");
  stats_.in_use -= it->second;
  if (caching_) {
    free_[it->second].push_back(p);
    stats_.cached += it->second;
  } else {
    raw_.release(p);
    ++stats_.raw_releases;
  }
  live_.erase(it);
}

void CachingAllocator::release_cached() {
  for (auto& [size, blocks] : free_) {
    for (void* p : blocks) raw_.release(p);
    stats_.raw_releases += static_cast<int64_t>(blocks.size());
  }
  free_.clear();
  stats_.cached = 0;
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  release_cached();
}

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.peak = stats_.in_use;
}

CachingAllocator::Stats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

CachingAllocator::~CachingAllocator() {
  std::lock_guard<std::mutex> lock(mutex_);
  release_cached();
  if (!live_.empty())  // a destructor must not throw: say it and let the memory go
    std::fprintf(stderr, "tdseg: caching allocator destroyed with %zu blocks (%zu bytes) in use\n",
                 live_.size(), stats_.in_use);
}

}  // namespace tdseg
