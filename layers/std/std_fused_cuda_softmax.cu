// The softmax of the fused STD op's argument on CUDA (see std_fused_cuda_softmax.h).
#include "layers/std/std_fused_cuda_softmax.h"

#include <cmath>

#include "cuda/launch.h"

namespace tdseg::cuda::std_device {

namespace {

// z = argument, u = softmax(z) over the classes of each pixel, as softmax_forward_cpu:
// m = max_c z, e_c = exp(z_c - m) (kept in u), u_c = e_c * (1 / sum_c e_c), the sum in
// double. z is stored when asked (z_T, the op's output); u null stores z alone (u_T is
// never needed). Reads o and P (and q), writes u (and z): 12 (16) B per element in fp32;
// the later passes re-read u from L1/L2.
template <typename T>
__global__ void argument_softmax_kernel(Dims d, Argument<T> arg, T* __restrict__ z,
                                        T* __restrict__ u) {
  for (int64_t p = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; p < d.pixels();
       p += int64_t(gridDim.x) * blockDim.x) {
    const int64_t n = p / d.L, k = p - n * d.L, base = n * d.C * d.L + k;
    if (!u) {
      for (int64_t c = 0, i = base; c < d.C; ++c, i += d.L) z[i] = argument(arg, d, n, c, k, i);
      continue;
    }
    T m = -static_cast<T>(INFINITY);
    for (int64_t c = 0, i = base; c < d.C; ++c, i += d.L) {
      const T zc = argument(arg, d, n, c, k, i);
      if (z) z[i] = zc;
      u[i] = zc;
      m = m < zc ? zc : m;
    }
    double s = 0;
    for (int64_t c = 0, i = base; c < d.C; ++c, i += d.L) {
      const T e = exp_of(u[i] - m);
      s += e;
      u[i] = e;
    }
    const double inv = 1.0 / s;
    for (int64_t c = 0, i = base; c < d.C; ++c, i += d.L) u[i] = static_cast<T>(u[i] * inv);
  }
}

}  // namespace

template <typename T>
void argument_softmax(const Dims& d, const Argument<T>& a, T* z, T* u, cudaStream_t stream) {
  argument_softmax_kernel<<<blocks_for(d.pixels()), kThreads, 0, stream>>>(d, a, z, u);
  TDSEG_LAUNCH_CHECK();
}

template void argument_softmax<float>(const Dims&, const Argument<float>&, float*, float*,
                                      cudaStream_t);
template void argument_softmax<double>(const Dims&, const Argument<double>&, double*, double*,
                                       cudaStream_t);

}  // namespace tdseg::cuda::std_device
