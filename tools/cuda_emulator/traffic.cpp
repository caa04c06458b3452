// The traffic count (traffic.h). The kernels of tdseg_lib_traffic are compiled with
// -fsanitize=kernel-address and calls for every check, at -O0, where GCC keeps a check
// for each load and each store (optimised, it drops a store's check after a load of the
// same place: the write of a read-modify-write would be lost). The callbacks below, the
// runtime a kernel sanitizer would provide, mark each byte of device memory a kernel
// touches in one of two bitmaps (read, written) of the allocation it lies in; at the
// launch's end the bits set are its bytes, and the bitmaps are cleared. Each access also
// goes to coalescing.cpp, which puts the warps' requests together, and so does each
// access to the running block's dynamic shared memory. This file is not instrumented.
#include "traffic.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>

#include "coalescing.h"
#include "emulator.h"
#include "traffic_hooks.h"

namespace emu::traffic {
namespace {

using Bits = std::unique_ptr<std::atomic<uint64_t>[]>;

struct Region {  // one cudaMalloc
  uintptr_t begin = 0, end = 0;
  uint64_t index = 0;  // in g_sorted
  Bits read, written;  // a bit for each byte
  std::atomic<bool> touched{false};

  size_t words() const { return (end - begin + 63) / 64; }
};

// Allocations change only between launches (the emulated device is synchronous), so a
// launch looks regions up in a sorted copy of the table without locking.
std::map<uintptr_t, std::unique_ptr<Region>> g_regions;
std::vector<Region*> g_sorted;
uint64_t g_epoch = 0;  // which launch g_sorted is for
bool g_recording = false;
std::atomic<bool> g_counting{false};
std::vector<Launch> g_launches;

thread_local Region* t_last = nullptr;  // the region of this thread's last access
thread_local uint64_t t_epoch = ~uint64_t(0);

Bits zero_bits(size_t words) {
  Bits b(new std::atomic<uint64_t>[words]);
  for (size_t i = 0; i < words; ++i) b[i].store(0, std::memory_order_relaxed);
  return b;
}

Region* region_of(uintptr_t a) {
  if (t_epoch == g_epoch && t_last && a >= t_last->begin && a < t_last->end) return t_last;
  auto it = std::upper_bound(g_sorted.begin(), g_sorted.end(), a,
                             [](uintptr_t x, const Region* r) { return x < r->begin; });
  if (it == g_sorted.begin() || a >= (*--it)->end) return nullptr;  // not device memory
  t_last = *it;
  t_epoch = g_epoch;
  return *it;
}

// An access of n bytes at p, by the instruction at site.
void mark(const void* p, size_t n, bool write, const void* site) {
  if (!g_counting.load(std::memory_order_relaxed)) return;
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  Region* r = region_of(a);
  if (!r) {  // the block's shared memory goes to the bank count, anything else nowhere
    const auto shared = reinterpret_cast<uintptr_t>(emu::dynamic_shared());
    if (a >= shared && a < shared + emu::dynamic_shared_bytes())
      coalescing::shared_access(a - shared, unsigned(n), write, site);
    return;
  }
  coalescing::access(r->index, a - r->begin, unsigned(n), write, site);
  std::atomic<uint64_t>* bits = write ? r->written.get() : r->read.get();
  for (uintptr_t at = a - r->begin, last = std::min(a + n, r->end) - r->begin; at < last;) {
    const unsigned bit = at % 64, k = static_cast<unsigned>(std::min<uintptr_t>(last - at, 64 - bit));
    uint64_t mask = (k == 64 ? ~uint64_t(0) : (uint64_t(1) << k) - 1) << bit;
    // A byte read after the launch wrote it comes from the caches, not from memory.
    if (!write) mask &= ~r->written[at / 64].load(std::memory_order_relaxed);
    std::atomic<uint64_t>& word = bits[at / 64];
    if ((word.load(std::memory_order_relaxed) & mask) != mask) word.fetch_or(mask, std::memory_order_relaxed);
    at += k;
  }
  if (!r->touched.load(std::memory_order_relaxed)) r->touched.store(true, std::memory_order_relaxed);
}

// The bits set in b, which it clears.
uint64_t take(std::atomic<uint64_t>* b, size_t words) {
  uint64_t n = 0;
  for (size_t i = 0; i < words; ++i) n += __builtin_popcountll(b[i].exchange(0, std::memory_order_relaxed));
  return n;
}

}  // namespace

void start() {
  g_launches.clear();
  g_recording = true;
}

std::vector<Launch> stop() {
  g_recording = false;
  return std::move(g_launches);
}

uint64_t total(const std::vector<Launch>& launches) {
  uint64_t n = 0;
  for (const Launch& l : launches) n += l.read + l.written;
  return n;
}

void on_alloc(const void* p, size_t n) {
  auto r = std::make_unique<Region>();
  r->begin = reinterpret_cast<uintptr_t>(p);
  r->end = r->begin + n;
  r->read = zero_bits(r->words());
  r->written = zero_bits(r->words());
  g_regions[r->begin] = std::move(r);
}

void on_free(const void* p) { g_regions.erase(reinterpret_cast<uintptr_t>(p)); }

void launch_begin() {
  if (!g_recording) return;
  g_sorted.clear();
  for (auto& [begin, r] : g_regions) {
    r->index = g_sorted.size();
    g_sorted.push_back(r.get());
  }
  ++g_epoch;
  coalescing::launch_begin();
  g_counting.store(true);
}

void on_barrier() {
  if (g_counting.load(std::memory_order_relaxed)) coalescing::barrier();
}

void launch_end(const char* kernel) {
  if (!g_counting.load()) return;
  g_counting.store(false);
  Launch l{kernel};
  coalescing::launch_end(l.loads, l.stores, l.shared_loads, l.shared_stores);
  for (Region* r : g_sorted) {
    if (!r->touched.exchange(false)) continue;
    l.read += take(r->read.get(), r->words());
    l.written += take(r->written.get(), r->words());
  }
  g_launches.push_back(std::move(l));
}

}  // namespace emu::traffic

// What -fsanitize=kernel-address calls before each load and store of an instrumented kernel.
extern "C" {
#define EMU_TRAFFIC_SIZED(n)                                                           \
  void __asan_load##n##_noabort(const void* p) {                                     \
    emu::traffic::mark(p, n, false, __builtin_return_address(0));                      \
  }                                                                                    \
  void __asan_store##n##_noabort(const void* p) {                                    \
    emu::traffic::mark(p, n, true, __builtin_return_address(0));                       \
  }
EMU_TRAFFIC_SIZED(1)
EMU_TRAFFIC_SIZED(2)
EMU_TRAFFIC_SIZED(4)
EMU_TRAFFIC_SIZED(8)
EMU_TRAFFIC_SIZED(16)
#undef EMU_TRAFFIC_SIZED
void __asan_loadN_noabort(const void* p, size_t n) {
  emu::traffic::mark(p, n, false, __builtin_return_address(0));
}
void __asan_storeN_noabort(const void* p, size_t n) {
  emu::traffic::mark(p, n, true, __builtin_return_address(0));
}
// What the instrumentation calls around a file's dynamic initialisers, and before a call
// that does not return: nothing to count.
void __asan_handle_no_return() {}
void __asan_before_dynamic_init(const char*) {}
void __asan_after_dynamic_init() {}
}
