// Block-wide reductions for the deterministic two-pass sums (per-block partials, then one
// block adds them in a fixed order): no atomics, so results are identical run to run.
#pragma once
#include <algorithm>
#include <cstdint>

#include "cuda/launch.h"

namespace tdseg::cuda {

// A first pass runs at most kMaxPartials blocks, each leaving one share; the second pass
// (sum_of_shares) is one block of kMaxPartials threads.
constexpr int kMaxPartials = 1024;

inline int partial_blocks(int64_t count) {
  return static_cast<int>(std::min<int64_t>(blocks_for(count), kMaxPartials));
}

// The sum of v over the block, valid in thread 0: a warp-shuffle tree, then warp 0 adds
// the per-warp sums. T is float or double (the deterministic sums use double). Every
// thread of the block must call it (it has barriers); blockDim.x is a multiple of 32, at
// most 1024. The leading barrier lets a caller reduce several values in a row through the
// one shared buffer.
template <typename T>
__device__ inline T block_sum(T v) {
  __shared__ T warp_sums[32];
  __syncthreads();
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  v = threadIdx.x < blockDim.x / 32 ? warp_sums[threadIdx.x] : T(0);
  if (warp == 0)
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  return v;
}

// The first pass of a two-pass sum: *share = the sum of v over the block (every thread
// calls it; thread 0 writes), e.g. share = partial + blockIdx.x.
template <typename T>
__device__ inline void store_block_sum(T v, T* share) {
  v = block_sum(v);
  if (threadIdx.x == 0) *share = v;
}

// The second pass: share[0 .. count) added in a fixed order by the one block that calls
// it, valid in thread 0.
__device__ inline double sum_of_shares(const double* __restrict__ share, int64_t count) {
  double s = 0;
  for (int64_t i = threadIdx.x; i < count; i += blockDim.x) s += share[i];
  return block_sum(s);
}

}  // namespace tdseg::cuda
