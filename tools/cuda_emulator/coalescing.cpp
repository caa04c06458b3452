// How a launch's warps coalesce their accesses (coalescing.h), the figure a profiler gives
// as sectors per request. On a GPU the 32 threads of a warp execute a load or store
// instruction together: one request, served in 32-byte sectors, as many as the addresses
// of the threads taking part span. The emulator runs a warp's threads one after another,
// so the request is put together again: the k-th time a thread executes the instruction
// at a site joins the k-th time each other thread of its warp does (as on the GPU while
// the warp's threads run in step; where they diverge, as in loops of different lengths,
// this is an approximation). A request's best is the fewest sectors its distinct bytes
// fit in: 4 for 32 threads reading consecutive floats, 1 for a broadcast. Sectors are
// counted from the start of each allocation, which a GPU aligns to 256 bytes.
#include "coalescing.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "emulator.h"

namespace emu::traffic::coalescing {
namespace {

struct Key {
  uint64_t warp;
  const void* site;
  uint32_t time;  // the how-many-th execution of site by each thread
  bool write;
  bool operator==(const Key& o) const {
    return warp == o.warp && site == o.site && time == o.time && write == o.write;
  }
};
struct KeyHash {
  size_t operator()(const Key& k) const {
    return std::hash<const void*>()(k.site) ^ (k.warp * 0x9E3779B97F4A7C15ull) ^
           (uint64_t(k.time) << 1 | k.write) * 0xC2B2AE3D27D4EB4Full;
  }
};
struct Request {
  std::vector<uint64_t> at;  // region << 40 | offset, one per thread taking part
  unsigned size = 0;
};

// What one host thread gathers: the requests of the block it runs, summed into its totals
// when it moves to another block or the launch ends.
struct HostThread {
  uint64_t launch = ~uint64_t(0), block = ~uint64_t(0);
  std::vector<std::unordered_map<const void*, uint32_t>> times;  // per thread of the block
  std::unordered_map<Key, Request, KeyHash> requests;
  Requests loads, stores;
};

std::mutex g_mutex;  // guards g_threads
std::vector<std::unique_ptr<HostThread>> g_threads;
uint64_t g_launch = 0;
thread_local HostThread* t_state = nullptr;

// Adds request r to `to`, sorting its addresses in place.
void add(Request& r, Requests& to) {
  std::vector<uint64_t>& at = r.at;
  std::sort(at.begin(), at.end());
  at.erase(std::unique(at.begin(), at.end()), at.end());
  uint64_t sectors = 0, next = 0;  // sorted: count each sector from the first not yet counted
  for (uint64_t a : at) {
    const uint64_t first = std::max(a / 32, next), end = (a + r.size - 1) / 32 + 1;
    if (end > first) {
      sectors += end - first;
      next = end;
    }
  }
  to.requests += 1;
  to.sectors += sectors;
  to.ideal += (at.size() * r.size + 31) / 32;  // distinct bytes, unless accesses partly overlap
}

void flush(HostThread& t) {
  for (auto& [key, r] : t.requests) add(r, key.write ? t.stores : t.loads);
  t.requests.clear();
}

HostThread& state() {
  if (!t_state) {
    std::lock_guard<std::mutex> lock(g_mutex);
    g_threads.push_back(std::make_unique<HostThread>());
    t_state = g_threads.back().get();
  }
  return *t_state;
}

}  // namespace

void launch_begin() { ++g_launch; }

void access(uint64_t region, uint64_t offset, unsigned size, bool write, const void* site) {
  HostThread& t = state();
  const dim3 g = g_grid_dim, b = g_block_dim;
  const uint64_t block = g_block.x + uint64_t(g.x) * (g_block.y + uint64_t(g.y) * g_block.z);
  const unsigned thread = g_thread.x + b.x * (g_thread.y + b.y * g_thread.z);
  if (t.launch != g_launch || t.block != block) {
    if (t.launch == g_launch) flush(t);
    t.launch = g_launch;
    t.block = block;
    t.times.resize(b.x * b.y * b.z);
    for (auto& m : t.times) m.clear();
  }
  Request& r = t.requests[Key{thread / 32, site, t.times[thread][site]++, write}];
  r.at.push_back(region << 40 | offset);
  r.size = size;
}

void launch_end(Requests& loads, Requests& stores) {
  std::lock_guard<std::mutex> lock(g_mutex);
  for (auto& t : g_threads) {
    if (t->launch == g_launch) flush(*t);
    loads += t->loads;
    stores += t->stores;
    t->loads = t->stores = Requests{};
    t->launch = ~uint64_t(0);
  }
}

}  // namespace emu::traffic::coalescing
