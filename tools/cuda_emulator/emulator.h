// A CPU emulation of CUDA's execution model, enough to run tdseg's kernels without a GPU
// (README.md). rewrite_launches turns each .cu file into C++ that includes this header:
// - a launch runs the grid's blocks on the host's threads (OpenMP); within a block, each
//   CUDA thread is a fiber that yields at __syncthreads and at a warp shuffle, so block
//   barriers, shared memory and warp shuffles behave as on the GPU;
// - __shared__ variables are statics, one copy per host thread (it runs one block at a
//   time); dynamic shared memory is a buffer filled with 0xff before each block (reads
//   of it before a write give NaN);
// - threadIdx, blockIdx, blockDim and gridDim are the running fiber's.
// It checks what a kernel computes, not its speed; its races under the race check
// (scheduler.cpp, TDSEG_RACECHECK); the bytes it touches under the traffic count
// (traffic.h, TDSEG_TRAFFIC); TF32 rounding where the libraries would use it.
#pragma once
#define __shared__ static thread_local
#include <cuda_runtime.h>
// Register and occupancy hints mean nothing on the host.
#undef __launch_bounds__
#define __launch_bounds__(...)

#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

namespace emu {

extern thread_local uint3 g_thread, g_block;
extern thread_local dim3 g_block_dim, g_grid_dim;

struct Config {
  const char* kernel;  // its name, for the traffic count (traffic.h)
  dim3 grid, block;
  size_t shared_bytes;
  cudaStream_t stream;  // streams are synchronous here
};
inline Config cfg(const char* kernel, dim3 grid, dim3 block, size_t shared_bytes = 0, cudaStream_t s = nullptr) {
  return {kernel, grid, block, shared_bytes, s};
}

// Runs thread(ctx) once per CUDA thread of the grid. *barrier_free caches, per launch
// site, whether the first block used no barrier: later launches then call the threads
// directly instead of as fibers (a barrier met there aborts with a message).
void run_grid(const Config& c, bool* barrier_free, void (*thread)(void*), void* ctx);
void* dynamic_shared();
size_t dynamic_shared_bytes();  // of the running block
// A barrier names its place in the source: every live thread of the block must wait at
// the same one, as bar.sync requires on the GPU.
void syncthreads(const char* file, int line);
// mask: the lanes taking part, each of which must be live and at the same shuffle.
uint64_t shfl_down_bits(uint64_t bits, unsigned delta, unsigned mask, const char* file, int line);

template <typename T>
T shfl_down(T v, unsigned delta, unsigned mask, const char* file, int line) {
  static_assert(sizeof(T) <= 8, "a shuffle moves at most 8 bytes");
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  bits = shfl_down_bits(bits, delta, mask, file, line);
  T r;
  std::memcpy(&r, &bits, sizeof(T));
  return r;
}

// The arguments are evaluated once, as at a real launch; each thread gets its own copy.
template <typename Body, typename... A>
void launch(Config c, Body body, A&&... args) {
  using Args = std::tuple<std::decay_t<A>...>;
  struct Ctx {
    Body* body;
    const Args* args;
  };
  const Args values(std::forward<A>(args)...);
  Ctx ctx{&body, &values};
  static bool barrier_free = false;
  run_grid(c, &barrier_free, [](void* p) {
    const auto* x = static_cast<Ctx*>(p);
    Args copy = *x->args;
    std::apply(*x->body, copy);
  }, &ctx);
}

}  // namespace emu

#define threadIdx (::emu::g_thread)
#define blockIdx (::emu::g_block)
#define blockDim (::emu::g_block_dim)
#define gridDim (::emu::g_grid_dim)
#define __syncthreads() ::emu::syncthreads(__FILE__, __LINE__)
#define __shfl_down_sync(mask, v, delta) ::emu::shfl_down((v), (delta), (mask), __FILE__, __LINE__)

inline unsigned __float_as_uint(float f) {
  unsigned u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float __uint_as_float(unsigned u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
template <typename T>
T atomicMin(T* p, T v) {  // blocks run concurrently: a real atomic
  T old = __atomic_load_n(p, __ATOMIC_RELAXED);
  while (v < old && !__atomic_compare_exchange_n(p, &old, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  return old;
}
// CUDA's global min and max (device math), for arithmetic types.
template <typename A, typename B, typename = std::enable_if_t<std::is_arithmetic_v<A> && std::is_arithmetic_v<B>>>
std::common_type_t<A, B> min(A a, B b) {
  using C = std::common_type_t<A, B>;
  return C(a) < C(b) ? C(a) : C(b);
}
template <typename A, typename B, typename = std::enable_if_t<std::is_arithmetic_v<A> && std::is_arithmetic_v<B>>>
std::common_type_t<A, B> max(A a, B b) {
  using C = std::common_type_t<A, B>;
  return C(a) < C(b) ? C(b) : C(a);
}
