// The grid of an elementwise kernel over the planes of an NCHW tensor: x over the N*C
// planes (one block column a plane), y over chunks of a plane of about four elements a
// thread (within CUDA's 65535 limit on y; the loop covers the rest). A block so finds its
// plane, and its channel, once, and indexes within the plane: no 64-bit division per
// element (a subroutine of 83 instructions in sm_90 SASS, CUDA 13.0).
#pragma once
#include <algorithm>
#include <cstdint>

#include "cuda/launch.h"

namespace tdseg::cuda {

inline dim3 plane_grid(int64_t planes, int64_t plane_size) {
  const int64_t chunks = (plane_size + 4 * kThreads - 1) / (4 * kThreads);
  return dim3(static_cast<unsigned>(planes),
              static_cast<unsigned>(std::clamp<int64_t>(chunks, 1, 65535)));
}

// Calls fn(i) for this thread's indices i in [0, plane_size) of its block's plane,
// blockIdx.x. Launched with plane_grid and blocks of kThreads.
template <typename Fn>
__device__ inline void for_plane(int64_t plane_size, Fn&& fn) {
  for (int64_t i = blockIdx.y * int64_t(blockDim.x) + threadIdx.x; i < plane_size;
       i += int64_t(gridDim.y) * blockDim.x)
    fn(i);
}

}  // namespace tdseg::cuda
