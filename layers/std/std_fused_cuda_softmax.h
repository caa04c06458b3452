// z_{t+1} and u_{t+1} = softmax(z_{t+1}) of the fused STD op on CUDA, from P = K(u_t) in
// memory (std_fused_cuda.cu runs it after the blur passes of std_fused_cuda_blur.cu; the
// kernel harnesses of tools/kernels/ run it as the forward's baseline).
#pragma once
#include <cuda_runtime.h>

#include "layers/std/std_fused_cuda_argument.cuh"

namespace tdseg::cuda::std_device {

// z = the argument a (std_fused_cuda_argument.cuh) at every element, u = softmax(z) over
// the classes of each pixel; z stored when not null, u when not null.
template <typename T>
void argument_softmax(const Dims& d, const Argument<T>& a, T* z, T* u, cudaStream_t stream);

}  // namespace tdseg::cuda::std_device
