// Kernel launch helpers: a 1-D grid over n elements, the per-dtype dispatch, and the check
// after every launch (a bad configuration is reported by the next runtime call otherwise,
// far from its cause).
#pragma once
#include <algorithm>
#include <cstdint>

#include "core/tensor.h"
#include "cuda/check.h"

namespace tdseg::cuda {

constexpr int kThreads = 256;

// Enough blocks of kThreads to cover n with one element per thread (kernels use a
// grid-stride loop, so the cap only bounds the grid, never the work).
inline unsigned blocks_for(int64_t n, int threads = kThreads) {
  return static_cast<unsigned>(std::clamp<int64_t>((n + threads - 1) / threads, 1, 1 << 30));
}

template <typename T>
T* ptr(const Tensor& t) {  // device address of element 0, dtype checked
  check<DTypeError>(t.dtype() == dtype_of<T>(), "cuda: tensor is ", dtype_name(t.dtype()),
                    ", used as ", dtype_name(dtype_of<T>()));
  return static_cast<T*>(t.data_ptr());
}

}  // namespace tdseg::cuda

#define TDSEG_LAUNCH_CHECK() TDSEG_CUDA_CHECK(cudaGetLastError())
