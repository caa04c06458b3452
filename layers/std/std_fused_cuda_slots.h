// Where the fused STD op on CUDA keeps iterates for its backward: slots of n elements in T,
// or (bf16_iterates, float32 only) as bfloat16 bits in an int32 tensor. The twin of the
// CPU's Iterates (std_fused.cpp); std_fused_cuda.cu keeps the checkpoints and a
// recomputed segment in them.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "core/tensor.h"
#include "cuda/launch.h"

namespace tdseg::cuda::std_device {

// h = bf16(u), float32 rounded to nearest even on its top 16 bits (std_fused_kernels.h,
// to_bf16): reads 4, writes 2 B per element.
template <typename T>
void round_bf16(int64_t n, const T* u, uint16_t* h, cudaStream_t stream);

// u = float(h), 16 zero bits appended (from_bf16): reads 2, writes 4 B per element.
template <typename T>
void widen_bf16(int64_t n, const uint16_t* h, T* u, cudaStream_t stream);

template <typename T>
struct Slots {
  Tensor storage;  // undefined for no slot
  int64_t n = 0;
  bool bf16 = false;
  cudaStream_t stream = nullptr;

  static Tensor allocate(int64_t slots, int64_t n, bool bf16, Device device) {
    if (slots == 0) return Tensor();
    return bf16 ? Tensor::empty({(slots * n + 1) / 2}, DType::Int32, device)
                : Tensor::empty({slots, n}, dtype_of<T>(), device);
  }
  uint16_t* half(int64_t slot) const {
    return static_cast<uint16_t*>(storage.data_ptr()) + slot * n;
  }
  // Where iterate `slot` is computed: the slot itself, or (bf16) `work`, which commit()
  // then rounds into the slot.
  T* writable(int64_t slot, T* work) const { return bf16 ? work : ptr<T>(storage) + slot * n; }
  void commit(int64_t slot, const T* u) const {
    if (bf16) round_bf16(n, u, half(slot), stream);
  }
  // Iterate `slot` in T: the slot itself, or (bf16) its widening into `work`.
  const T* read(int64_t slot, T* work) const {
    if (!bf16) return ptr<T>(storage) + slot * n;
    widen_bf16(n, half(slot), work, stream);
    return work;
  }
};

}  // namespace tdseg::cuda::std_device
