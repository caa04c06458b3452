// The caching allocator's logic over a counting host allocator: size classes, reuse in the
// steady state, statistics, the out-of-memory retry, empty_cache and the uncached mode. (The CUDA raw
// allocator under it is exercised by the GPU tests.)
#include <gtest/gtest.h>

#include <cstdlib>
#include <new>
#include <set>

#include "cuda/caching_allocator.h"
#include "tests/check_close.h"

namespace tdseg::testing {
namespace {

// Host memory with a capacity, counting calls, like a small device.
struct CountingAllocator : RawAllocator {
  size_t capacity, used = 0;
  int allocations = 0, releases = 0;
  std::map<void*, size_t> blocks;
  explicit CountingAllocator(size_t cap) : capacity(cap) {}
  void* allocate(size_t bytes) override {
    if (used + bytes > capacity) return nullptr;
    void* p = std::malloc(bytes);
    blocks[p] = bytes;
    used += bytes;
    ++allocations;
    return p;
  }
  void release(void* p) override {
    used -= blocks.at(p);
    blocks.erase(p);
    std::free(p);
    ++releases;
  }
};

TEST(CachingAllocator, SizeClasses) {
  EXPECT_EQ(CachingAllocator::size_class(1), 512u);
  EXPECT_EQ(CachingAllocator::size_class(512), 512u);
  EXPECT_EQ(CachingAllocator::size_class(513), 1024u);
  EXPECT_EQ(CachingAllocator::size_class((1 << 20) - 1), size_t(1) << 20);
  EXPECT_EQ(CachingAllocator::size_class((1 << 20) + 1), size_t(2) << 20);
  EXPECT_EQ(CachingAllocator::size_class((5 << 20) + 3), size_t(6) << 20);
}

TEST(CachingAllocator, SteadyStateMakesNoRawCalls) {
  CountingAllocator raw(1 << 30);
  CachingAllocator cache(raw);
  const size_t sizes[] = {100, 4000, 70000, 3 << 20, 100, 12345};
  auto step = [&] {  // one "training step": allocate all, free all
    std::vector<void*> ps;
    for (size_t s : sizes) ps.push_back(cache.allocate(s));
    EXPECT_EQ(std::set<void*>(ps.begin(), ps.end()).size(), ps.size());
    for (void* p : ps) cache.free(p);
  };
  step();
  const int after_warmup = raw.allocations;
  EXPECT_EQ(after_warmup, 6);
  for (int i = 0; i < 5; ++i) step();
  EXPECT_EQ(raw.allocations, after_warmup);
  EXPECT_EQ(raw.releases, 0);
  const auto s = cache.stats();
  size_t total = 0;
  for (size_t b : sizes) total += CachingAllocator::size_class(b);
  EXPECT_EQ(s.in_use, 0u);
  EXPECT_EQ(s.cached, total);
  EXPECT_EQ(s.peak, total);
  EXPECT_EQ(s.raw_allocations, 6);
  cache.empty_cache();
  EXPECT_EQ(raw.releases, 6);
  EXPECT_EQ(raw.used, 0u);
  EXPECT_EQ(cache.stats().cached, 0u);
}

TEST(CachingAllocator, OutOfMemoryEmptiesTheCacheAndRetries) {
  CountingAllocator raw(8 << 20);
  CachingAllocator cache(raw);
  void* a = cache.allocate(6 << 20);
  cache.free(a);                      // cached, not returned
  void* b = cache.allocate(4 << 20);  // another class: only fits once the cache is released
  EXPECT_EQ(raw.releases, 1);
  EXPECT_EQ(cache.stats().in_use, size_t(4) << 20);
  EXPECT_THROW(cache.allocate(6 << 20), std::bad_alloc);
  cache.free(b);
  EXPECT_THROW_MSG(cache.free(&raw), ValueError, "free of a pointer it did not allocate");
}

// reset_peak starts a new measurement from what is in use now (a benchmark's row).
TEST(CachingAllocator, ResetPeakStartsFromWhatIsInUse) {
  CountingAllocator raw(1 << 30);
  CachingAllocator cache(raw);
  void* kept = cache.allocate(3 << 20);  // 4 MiB in its size class
  void* big = cache.allocate(9 << 20);   // 10 MiB
  cache.free(big);
  EXPECT_EQ(cache.stats().peak, size_t(14) << 20);
  cache.reset_peak();
  EXPECT_EQ(cache.stats().peak, size_t(4) << 20);
  void* small = cache.allocate(1000);  // 1024 B
  EXPECT_EQ(cache.stats().peak, (size_t(4) << 20) + 1024);
  cache.free(small);
  cache.free(kept);
  cache.reset_peak();
  EXPECT_EQ(cache.stats().peak, 0u);
}

// Uncached (TDSEG_CUDA_CACHING=0, for memory checkers): exact sizes, every free released.
TEST(CachingAllocator, UncachedAllocatesExactSizesAndReleasesAtOnce) {
  CountingAllocator raw(1 << 30);
  CachingAllocator cache(raw, /*caching=*/false);
  for (int step = 0; step < 3; ++step) {
    void* a = cache.allocate(100);
    void* b = cache.allocate(3 << 20);
    EXPECT_EQ(raw.blocks.at(a), 100u);
    EXPECT_EQ(raw.blocks.at(b), size_t(3) << 20);
    EXPECT_EQ(cache.stats().in_use, (size_t(3) << 20) + 100);
    cache.free(a);
    cache.free(b);
  }
  EXPECT_EQ(raw.allocations, 6);
  EXPECT_EQ(raw.releases, 6);
  EXPECT_EQ(raw.used, 0u);
  const auto s = cache.stats();
  EXPECT_EQ(s.in_use, 0u);
  EXPECT_EQ(s.cached, 0u);
  EXPECT_EQ(s.peak, (size_t(3) << 20) + 100);
}

}  // namespace
}  // namespace tdseg::testing
