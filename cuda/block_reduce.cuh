// Block-wide reductions for the deterministic two-pass sums (per-block partials, then one
// block adds them in a fixed order): no atomics, so results are identical run to run.
#pragma once

namespace tdseg::cuda {

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

}  // namespace tdseg::cuda
