// How a launch's warps coalesce their accesses (coalescing.h), the figure a profiler gives
// as sectors per request. On a GPU the 32 threads of a warp execute a load or store
// instruction together: one request, served in 32-byte sectors, as many as the addresses
// of the threads taking part span. The emulator runs a warp's threads one after another,
// so the request is put together again: the k-th time a thread executes the instruction
// at a site joins the k-th time each other thread of its warp does (as on the GPU while
// the warp's threads run in step), counting from the threads' last __syncthreads, where
// the block's threads are all in step again. Where a warp's threads diverge between two
// barriers, as in loops of different lengths or a load that some of them skip, this is
// an approximation: a thread that skipped an execution joins its later ones to the
// others' earlier ones. A request's best is the fewest sectors its distinct bytes
// fit in: 4 for 32 threads reading consecutive floats, 1 for a broadcast. Sectors are
// counted from the start of each allocation, which a GPU aligns to 256 bytes.
//
// Shared memory's requests are put together the same way and served by 32 banks of 32-bit
// words (word w in bank w % 32), each bank one word a pass: a request takes as many passes
// (wavefronts) as the most distinct words one bank holds; threads reading the same word
// share it (a broadcast). Its best is its distinct words over 32: 1 for 32 floats, 2 for
// 32 doubles. This is the model of NVIDIA's programming guide ("Shared Memory", compute
// capability 5.x and later); how a GPU splits 64- and 128-bit requests into phases is not
// modelled beyond it.
#include "coalescing.h"

#include <algorithm>
#include <array>
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
  uint32_t epoch;  // the barriers each thread has passed in the block
  uint32_t time;   // the how-many-th execution of site by each thread in that epoch
  bool write;
  bool shared;  // to shared memory, else to device memory
  bool operator==(const Key& o) const {
    return warp == o.warp && site == o.site && epoch == o.epoch && time == o.time &&
           write == o.write && shared == o.shared;
  }
};
struct KeyHash {
  size_t operator()(const Key& k) const {
    return std::hash<const void*>()(k.site) ^ (k.warp * 0x9E3779B97F4A7C15ull) ^
           ((uint64_t(k.epoch) << 32 | uint64_t(k.time) << 2 | k.shared << 1 | k.write) *
            0xC2B2AE3D27D4EB4Full);
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
  std::vector<uint32_t> epochs;                                   // per thread of the block
  std::unordered_map<Key, Request, KeyHash> requests;
  Requests loads, stores;
  Banks shared_loads, shared_stores;
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

// Adds shared-memory request r to `to`, sorting its addresses in place.
void add(Request& r, Banks& to) {
  std::vector<uint64_t> words;  // the 32-bit words its threads touch
  for (uint64_t a : r.at)
    for (uint64_t w = a / 4; w <= (a + r.size - 1) / 4; ++w) words.push_back(w);
  std::sort(words.begin(), words.end());
  words.erase(std::unique(words.begin(), words.end()), words.end());
  std::array<uint64_t, 32> in_bank{};
  for (uint64_t w : words) ++in_bank[w % 32];
  to.requests += 1;
  to.wavefronts += *std::max_element(in_bank.begin(), in_bank.end());
  to.ideal += (words.size() + 31) / 32;
}

void flush(HostThread& t) {
  for (auto& [key, r] : t.requests) {
    if (key.shared)
      add(r, key.write ? t.shared_stores : t.shared_loads);
    else
      add(r, key.write ? t.stores : t.loads);
  }
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

// The running thread's index in its block; a new block begins the host thread's
// requests afresh (after adding up its previous block's).
unsigned running_thread(HostThread& t) {
  const dim3 g = g_grid_dim, b = g_block_dim;
  const uint64_t block = g_block.x + uint64_t(g.x) * (g_block.y + uint64_t(g.y) * g_block.z);
  if (t.launch != g_launch || t.block != block) {
    if (t.launch == g_launch) flush(t);
    t.launch = g_launch;
    t.block = block;
    t.times.resize(b.x * b.y * b.z);
    for (auto& m : t.times) m.clear();
    t.epochs.assign(b.x * b.y * b.z, 0);
  }
  return g_thread.x + b.x * (g_thread.y + b.y * g_thread.z);
}

// Joins the running thread's access to its warp's request.
void record(uint64_t at, unsigned size, bool write, bool shared, const void* site) {
  HostThread& t = state();
  const unsigned thread = running_thread(t);
  const Key key{thread / 32, site, t.epochs[thread], t.times[thread][site]++, write, shared};
  Request& r = t.requests[key];
  r.at.push_back(at);
  r.size = size;
}

}  // namespace

void launch_begin() { ++g_launch; }

void access(uint64_t region, uint64_t offset, unsigned size, bool write, const void* site) {
  record(region << 40 | offset, size, write, false, site);
}

void shared_access(uint64_t offset, unsigned size, bool write, const void* site) {
  record(offset, size, write, true, site);
}

void barrier() {
  HostThread& t = state();
  const unsigned thread = running_thread(t);
  ++t.epochs[thread];
  t.times[thread].clear();
}

void launch_end(Requests& loads, Requests& stores, Banks& shared_loads, Banks& shared_stores) {
  std::lock_guard<std::mutex> lock(g_mutex);
  for (auto& t : g_threads) {
    if (t->launch == g_launch) flush(*t);
    loads += t->loads;
    stores += t->stores;
    shared_loads += t->shared_loads;
    shared_stores += t->shared_stores;
    t->loads = t->stores = Requests{};
    t->shared_loads = t->shared_stores = Banks{};
    t->launch = ~uint64_t(0);
  }
}

}  // namespace emu::traffic::coalescing
