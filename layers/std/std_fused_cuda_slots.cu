// bfloat16 storage of the fused STD op's iterates on CUDA (see std_fused_cuda_slots.h).
#include "layers/std/std_fused_cuda_slots.h"

namespace tdseg::cuda::std_device {

namespace {

// The bits of std_fused_kernels.h (to_bf16, from_bf16): float32 rounded to nearest even
// on its top 16 bits (NaN stays a quiet NaN), and back by appending 16 zero bits.
__device__ __forceinline__ uint16_t to_bf16(float x) {
  uint32_t bits = __float_as_uint(x);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

__device__ __forceinline__ float from_bf16(uint16_t h) {
  return __uint_as_float(static_cast<uint32_t>(h) << 16);
}

template <typename T>
__global__ void round_bf16_kernel(int64_t n, const T* __restrict__ u, uint16_t* __restrict__ h) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    h[i] = to_bf16(static_cast<float>(u[i]));
}

template <typename T>
__global__ void widen_bf16_kernel(int64_t n, const uint16_t* __restrict__ h, T* __restrict__ u) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    u[i] = static_cast<T>(from_bf16(h[i]));
}

}  // namespace

template <typename T>
void round_bf16(int64_t n, const T* u, uint16_t* h, cudaStream_t stream) {
  round_bf16_kernel<<<blocks_for(n), kThreads, 0, stream>>>(n, u, h);
  TDSEG_LAUNCH_CHECK();
}

template <typename T>
void widen_bf16(int64_t n, const uint16_t* h, T* u, cudaStream_t stream) {
  widen_bf16_kernel<<<blocks_for(n), kThreads, 0, stream>>>(n, h, u);
  TDSEG_LAUNCH_CHECK();
}

template void round_bf16<float>(int64_t, const float*, uint16_t*, cudaStream_t);
template void round_bf16<double>(int64_t, const double*, uint16_t*, cudaStream_t);
template void widen_bf16<float>(int64_t, const uint16_t*, float*, cudaStream_t);
template void widen_bf16<double>(int64_t, const uint16_t*, double*, cudaStream_t);

}  // namespace tdseg::cuda::std_device
