// Forward and backward differences of single-channel images (the maths is in
// core/ops/image_grad.h), one thread per pixel (n, y, x), in the CPU's arithmetic. The
// neighbours' reads hit the cache, so each kernel moves about 3 * sizeof(T) bytes per
// pixel: image_grad reads u and writes two differences, image_div reads two planes and
// writes one.
#include "cuda/context.h"
#include "cuda/launch.h"
#include "cuda/ops/image_grad.h"

namespace tdseg::cuda {

namespace {

template <typename T>
__global__ void image_grad_kernel(int64_t n, int64_t H, int64_t W, const T* __restrict__ u,
                                  T* __restrict__ w, T sign) {
  const int64_t L = H * W;
  for (int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; j < n;
       j += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = j % L, x = i % W, y = i / W;
    const T* un = u + j / L * L;
    T* wx = w + j / L * 2 * L;
    wx[i] = sign * (x + 1 < W ? un[i + 1] - un[i] : T(0));
    wx[L + i] = sign * (y + 1 < H ? un[i + W] - un[i] : T(0));
  }
}

template <typename T>
__global__ void image_div_kernel(int64_t n, int64_t H, int64_t W, const T* __restrict__ w,
                                 T* __restrict__ u, T sign) {
  const int64_t L = H * W;
  for (int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; j < n;
       j += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = j % L, x = i % W, y = i / W;
    const T* wx = w + j / L * 2 * L;
    const T* wy = wx + L;
    T v = 0;
    if (x + 1 < W) v += wx[i];
    if (x > 0) v -= wx[i - 1];
    if (y + 1 < H) v += wy[i];
    if (y > 0) v -= wy[i - W];
    u[j] = sign * v;
  }
}

}  // namespace

void image_grad(const Tensor& u, const Tensor& w, double sign) {
  const int64_t n = u.numel(), H = u.size(2), W = u.size(3);
  if (n == 0) return;
  dispatch_floating(u.dtype(), "cuda image_grad", [&](auto tag) {
    using T = decltype(tag);
    image_grad_kernel<<<blocks_for(n), kThreads, 0, stream(u)>>>(n, H, W, ptr<T>(u), ptr<T>(w),
                                                                 static_cast<T>(sign));
  });
  TDSEG_LAUNCH_CHECK();
}

void image_div(const Tensor& w, const Tensor& u, double sign) {
  const int64_t n = u.numel(), H = w.size(2), W = w.size(3);
  if (n == 0) return;
  dispatch_floating(w.dtype(), "cuda image_div", [&](auto tag) {
    using T = decltype(tag);
    image_div_kernel<<<blocks_for(n), kThreads, 0, stream(w)>>>(n, H, W, ptr<T>(w), ptr<T>(u),
                                                                static_cast<T>(sign));
  });
  TDSEG_LAUNCH_CHECK();
}

}  // namespace tdseg::cuda
