// The emulator's scheduler: blocks are shared out among the host's threads; the threads
// of a block are fibers, run in turn until each finishes or waits at a barrier (all of
// the block's live threads) or a shuffle (all of its warp's), which then releases them.
// The switch saves only the callee-saved registers (x86-64): swapcontext's signal-mask
// system call made it twenty times slower.
//
// A block's threads run in the order of their index, or, with TDSEG_EMULATOR_ORDER=reverse
// in the environment, from the last to the first. A kernel that reads what another thread
// wrote without a barrier between them gets the value in one order and not in the other:
// its results then differ between the two runs of the same test, a race check of sorts.
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "emulator.h"
#ifdef TDSEG_RACECHECK
#include <sanitizer/tsan_interface.h>
#endif
#include "traffic_hooks.h"

// emu_switch(save, to): saves the callee-saved registers and the float control words on
// the current stack, stores its pointer in *save, and resumes the stack 'to'.
extern "C" void emu_switch(void** save, void* to);
asm(R"(
.text
.globl emu_switch
.type emu_switch,@function
emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
.size emu_switch,.-emu_switch
)");

#ifdef TDSEG_RACECHECK
// The host code around the kernels is not instrumented, but the sanitizer would still see
// its memset and memcpy, from OpenMP's threads whose order it cannot see: those checks
// are off, the kernels' own accesses are what it checks.
extern "C" const char* __tsan_default_options() { return "intercept_intrin=0"; }
#endif

namespace emu {
thread_local uint3 g_thread, g_block;
thread_local dim3 g_block_dim, g_grid_dim;

namespace {
// ThreadSanitizer's view of the emulated threads, where the kernels are built with
// -fsanitize=thread (TDSEG_EMULATOR_RACECHECK; README.md, "A race check without a GPU").
// Each CUDA thread is a sanitizer fiber, switched to without synchronising, so the only
// orders between them are the ones declared here: CUDA's (a launch after what the host did
// before it, a block's barrier), and one CUDA lacks: a block after the blocks its host
// thread ran before, which leave it their shared memory. This file itself is not
// instrumented: the scheduler's own bookkeeping is not what is checked.
namespace race {
#ifdef TDSEG_RACECHECK
constexpr bool kOn = true;
void* current() { return __tsan_get_current_fiber(); }
void* new_fiber() { return __tsan_create_fiber(0); }
void enter(void* fiber) { __tsan_switch_to_fiber(fiber, __tsan_switch_to_fiber_no_sync); }
void acquire(void* a) { __tsan_acquire(a); }
void release(void* a) { __tsan_release(a); }
#else
constexpr bool kOn = false;
void* current() { return nullptr; }
void* new_fiber() { return nullptr; }
void enter(void*) {}
void acquire(void*) {}
void release(void*) {}
#endif
}  // namespace race

enum State { kRun, kBlockWait, kWarpWait, kDone };
struct Fiber {
  void* sp = nullptr;
  std::vector<char> stack;
  State state = kRun;
  uint64_t shfl_in = 0, shfl_out = 0;
  unsigned delta = 0, mask = 0;
  const char* file = nullptr;  // where it waits
  int line = 0;
  unsigned epoch = 0;          // the block barrier it waits at
  void* race = nullptr;        // its sanitizer fiber
};
constexpr size_t kStack = 256 * 1024;
thread_local void* t_main_sp;
thread_local std::vector<Fiber>* t_fibers = nullptr;  // this host thread's fibers
thread_local Fiber* t_current = nullptr;
thread_local bool t_direct = false;  // threads called directly, without fibers
thread_local bool t_saw_barrier = false;
thread_local std::vector<unsigned char> t_shared;
thread_local void (*t_fn)(void*);
thread_local void* t_ctx;
// The sanitizer's sync objects: this host thread's block start and end, and its block's
// barriers (two, alternating, so that a thread past barrier k cannot release into the
// object a slower one still acquires k from); one launch's start and end.
thread_local char t_block_start, t_block_end, t_barrier[2];
thread_local unsigned t_epoch = 0;
thread_local void* t_host_race;
char g_launch_start, g_launch_end;

// Back to the host thread's own stack.
void to_host() {
  race::enter(t_host_race);
  emu_switch(&t_current->sp, t_main_sp);
}

[[noreturn]] void fiber_entry() {
  race::acquire(&t_block_start);
  t_fn(t_ctx);
  race::release(&t_block_end);
  t_current->state = kDone;
  to_host();
  std::abort();  // a finished fiber is never resumed
}

// A fresh stack that emu_switch "returns" into fiber_entry from.
void* initial_stack(std::vector<char>& stack) {
  auto top = reinterpret_cast<uintptr_t>(stack.data() + stack.size()) & ~uintptr_t(15);
  auto* sp = reinterpret_cast<uint64_t*>(top);
  *--sp = 0;                                              // fiber_entry's return slot
  *--sp = reinterpret_cast<uint64_t>(&fiber_entry);       // ret target
  for (int r = 0; r < 6; ++r) *--sp = 0;                  // rbp rbx r12 r13 r14 r15
  *--sp = 0x1F80ull | (0x037Full << 32);                  // mxcsr, x87 control word
  return sp;
}

void require_fiber() {
  if (!t_direct) return;
  std::fprintf(stderr, "emu: a barrier or shuffle in a kernel whose first block had none\n");
  std::abort();
}

[[noreturn]] void fail(const char* what, const Fiber& f) {
  std::fprintf(stderr, "emu: block (%u,%u,%u): %s (%s:%d)\n", g_block.x, g_block.y, g_block.z, what,
               f.file, f.line);
  std::abort();
}

void yield(State s, const char* file, int line) {
  require_fiber();
  t_current->file = file;
  t_current->line = line;
  t_saw_barrier = true;
  t_current->state = s;
  if (s == kBlockWait) {
    t_current->epoch = t_epoch;
    race::release(&t_barrier[t_epoch % 2]);
  }
  to_host();
  if (s == kBlockWait) race::acquire(&t_barrier[t_current->epoch % 2]);
}

uint3 thread_of(unsigned i, dim3 b) { return {i % b.x, (i / b.x) % b.y, i / (b.x * b.y)}; }

bool reverse_order() {
  static const bool reverse = [] {
    const char* e = std::getenv("TDSEG_EMULATOR_ORDER");
    return e && std::string(e) == "reverse";
  }();
  return reverse;
}

// The k-th of n threads to run: k itself, or n - 1 - k in reverse order.
unsigned nth(unsigned k, unsigned n) { return reverse_order() ? n - 1 - k : k; }

// Runs the n threads of the block g_block as fibers.
void run_block_fibers(unsigned n) {
  auto& f = *t_fibers;
  t_host_race = race::current();
  race::release(&t_block_start);
  for (unsigned i = 0; i < n; ++i) {
    if (race::kOn && !f[i].race) f[i].race = race::new_fiber();
    f[i].state = kRun;
    if (f[i].stack.empty()) f[i].stack.resize(kStack);
    f[i].sp = initial_stack(f[i].stack);
  }
  unsigned alive = n;
  while (alive > 0) {
    for (unsigned k = 0; k < n; ++k) {
      const unsigned i = nth(k, n);
      if (f[i].state != kRun) continue;
      t_current = &f[i];
      g_thread = thread_of(i, g_block_dim);
      race::enter(f[i].race);
      emu_switch(&t_main_sp, f[i].sp);
      if (f[i].state == kDone) --alive;
    }
    if (alive == 0) {
      race::acquire(&t_block_end);
      break;
    }
    // Every live thread now waits: release the block barrier if all wait there, and each
    // warp whose live threads all wait at a shuffle, handing each lane its source's value
    // (its own where the source lane is past the warp, as on the GPU).
    bool released = false;
    unsigned at_block = 0;
    const Fiber* first = nullptr;
    for (unsigned i = 0; i < n; ++i) {
      if (f[i].state != kBlockWait) continue;
      ++at_block;
      if (!first) first = &f[i];
      if (f[i].line != first->line || std::strcmp(f[i].file, first->file) != 0)
        fail("threads wait at different __syncthreads, one of them here", f[i]);
    }
    if (at_block == alive) {
      // On the GPU a thread that has returned is not waited for, but CUDA leaves a
      // barrier some threads skip undefined: tdseg's kernels keep every thread to the end.
      if (alive < n) fail("a __syncthreads after some of the block's threads returned", *first);
      for (unsigned i = 0; i < n; ++i)
        if (f[i].state == kBlockWait) f[i].state = kRun;
      ++t_epoch;
      released = true;
    }
    for (unsigned w = 0; w * 32 < n; ++w) {
      unsigned lo = w * 32, hi = std::min(n, lo + 32), waiting = 0, live = 0, lanes = 0;
      for (unsigned i = lo; i < hi; ++i) {
        live += f[i].state != kDone;
        waiting += f[i].state == kWarpWait;
        if (f[i].state == kWarpWait) lanes |= 1u << (i - lo);
      }
      if (live == 0 || waiting != live) continue;
      // Each lane's mask names exactly the lanes at the shuffle: a lane it names that
      // has returned, or is past the block, would leave the shuffle undefined.
      for (unsigned i = lo; i < hi; ++i)
        if (f[i].state == kWarpWait && f[i].mask != lanes)
          fail("a warp shuffle's mask names lanes that are not at it", f[i]);
      for (unsigned i = lo; i < hi; ++i) {
        if (f[i].state != kWarpWait) continue;
        unsigned src = i + f[i].delta;
        f[i].shfl_out = (src < hi && f[src].state == kWarpWait) ? f[src].shfl_in : f[i].shfl_in;
      }
      for (unsigned i = lo; i < hi; ++i)
        if (f[i].state == kWarpWait) f[i].state = kRun;
      released = true;
    }
    if (!released) {
      std::fprintf(stderr, "emu: deadlock: threads wait at different barriers\n");
      std::abort();
    }
  }
}
}  // namespace

void* dynamic_shared() { return t_shared.data(); }
size_t dynamic_shared_bytes() { return t_shared.size(); }
void syncthreads(const char* file, int line) {
  traffic::on_barrier();
  yield(kBlockWait, file, line);
}
uint64_t shfl_down_bits(uint64_t bits, unsigned delta, unsigned mask, const char* file, int line) {
  require_fiber();
  t_current->shfl_in = bits;
  t_current->delta = delta;
  t_current->mask = mask;
  yield(kWarpWait, file, line);
  return t_current->shfl_out;
}

void run_grid(const Config& c, bool* barrier_free, void (*fn)(void*), void* ctx) {
  const dim3 g = c.grid, b = c.block;
  const unsigned n = b.x * b.y * b.z;
  if (n == 0 || n > 1024 || g.x == 0 || g.y == 0 || g.z == 0 || g.y > 65535 || g.z > 65535 ||
      c.shared_bytes > 48 * 1024) {  // more needs cudaFuncSetAttribute, which tdseg never calls
    std::fprintf(stderr, "emu: invalid launch configuration: grid (%u,%u,%u) block (%u,%u,%u) shared %zu B\n",
                 g.x, g.y, g.z, b.x, b.y, b.z, c.shared_bytes);
    std::abort();
  }
  const int64_t blocks = int64_t(g.x) * g.y * g.z;
  const bool direct = *barrier_free;
  // Under the race check every block runs as fibers, and blocks 1, 2, ... are dealt in turn
  // to at least two host threads: neighbouring blocks always run on different threads,
  // where the sanitizer sees what they do as concurrent.
  const int threads = race::kOn ? std::max(2, omp_get_max_threads()) : omp_get_max_threads();
  // Block 0 runs first, alone, to learn whether this launch site uses barriers.
  auto run = [&](int64_t first, int64_t last) {
    race::acquire(&g_launch_start);
    thread_local std::vector<Fiber> pool;
    t_fibers = &pool;
    t_fn = fn;
    t_ctx = ctx;
    g_block_dim = b;
    g_grid_dim = g;
    if (pool.size() < n) pool.resize(n);
#ifdef TDSEG_RACECHECK
#pragma omp for schedule(static, 1)
#else
#pragma omp for schedule(dynamic, 8)
#endif
    for (int64_t k = first; k < last; ++k) {
      g_block = {unsigned(k % g.x), unsigned((k / g.x) % g.y), unsigned(k / (int64_t(g.x) * g.y))};
      t_shared.assign(c.shared_bytes, 0xff);  // each block's dynamic shared memory unwritten
      if (direct) {
        t_direct = true;
        for (unsigned k = 0; k < n; ++k) {
          g_thread = thread_of(nth(k, n), b);
          fn(ctx);
        }
        t_direct = false;
      } else {
        t_saw_barrier = false;
        run_block_fibers(n);
        if (k == 0 && !t_saw_barrier && !race::kOn) *barrier_free = true;
      }
    }
    race::release(&g_launch_end);
  };
  traffic::launch_begin();
  race::release(&g_launch_start);
  run(0, 1);
  if (blocks > 1) {
#pragma omp parallel if (blocks > (race::kOn ? 1 : 16)) num_threads(threads)  // the orphaned omp for in run() shares the blocks
    run(1, blocks);
  }
  race::acquire(&g_launch_end);
  traffic::launch_end(c.kernel);
}
}  // namespace emu
