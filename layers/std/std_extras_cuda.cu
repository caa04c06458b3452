// The star field, centroids and edge weight on CUDA (std_extras_cuda.h), each the twin of
// its loop in std_extras.cpp, expression for expression. One thread per pixel (n, y, x)
// for the field and the edge weight; one block per image for the centroids, whose three
// sums run in double in a fixed order (block_sum), so they are the same from run to run.
#include "cuda/block_reduce.cuh"
#include "cuda/context.h"
#include "cuda/launch.h"
#include "layers/std/std_extras_cuda.h"

namespace tdseg::cuda {

namespace {

constexpr int kCentroidThreads = 1024;

// s(x) = (c - x) / |c - x|, 0 at the centre. c[2n] - x is computed in T as on the CPU.
// Reads 2 values an image, writes 2 * sizeof(T) bytes a pixel.
template <typename T>
__global__ void star_field_kernel(int64_t N, int64_t H, int64_t W, const T* __restrict__ c,
                                  T* __restrict__ s) {
  const int64_t L = H * W;
  for (int64_t p = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; p < N * L;
       p += int64_t(gridDim.x) * blockDim.x) {
    const int64_t n = p / L, k = p - n * L, y = k / W, x = k - y * W;
    const double dx = c[2 * n] - x, dy = c[2 * n + 1] - y, r = hypot(dx, dy);
    s[n * 2 * L + k] = static_cast<T>(r > 0 ? dx / r : 0);
    s[(n * 2 + 1) * L + k] = static_cast<T>(r > 0 ? dy / r : 0);
  }
}

// Image blockIdx.x: the mass of u[n, star] and its first moments in x and y, then the
// centroid, or the image centre where the class has no mass. Reads the star class's plane.
template <typename T>
__global__ void star_centroids_kernel(int64_t C, int64_t H, int64_t W, int64_t star,
                                      const T* __restrict__ u, T* __restrict__ c) {
  const int64_t n = blockIdx.x, L = H * W;
  const T* p = u + (n * C + star) * L;
  double mass = 0, sx = 0, sy = 0;
  for (int64_t k = threadIdx.x; k < L; k += blockDim.x) {
    const int64_t y = k / W, x = k - y * W;
    const double v = p[k];
    mass += v;
    sx += v * x;
    sy += v * y;
  }
  mass = block_sum(mass);
  sx = block_sum(sx);
  sy = block_sum(sy);
  if (threadIdx.x != 0) return;
  c[2 * n] = static_cast<T>(mass > 0 ? sx / mass : (W - 1) / 2.0);
  c[2 * n + 1] = static_cast<T>(mass > 0 ? sy / mass : (H - 1) / 2.0);
}

// e = 1 / (1 + |grad v0|), v0 the mean over the C channels in double, grad the forward
// difference (0 on the last column and row). Reads C * sizeof(T) bytes a pixel (the
// neighbours' from the cache), writes sizeof(T).
template <typename T>
__global__ void edge_weight_kernel(int64_t N, int64_t C, int64_t H, int64_t W,
                                   const T* __restrict__ image, T* __restrict__ e) {
  const int64_t L = H * W;
  for (int64_t p = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; p < N * L;
       p += int64_t(gridDim.x) * blockDim.x) {
    const int64_t n = p / L, k = p - n * L, y = k / W, x = k - y * W;
    const T* v = image + n * C * L;
    auto v0 = [&](int64_t at) {
      double s = 0;
      for (int64_t ch = 0; ch < C; ++ch) s += static_cast<double>(v[ch * L + at]);
      return s / C;
    };
    const double here = v0(k);
    const double gx = x + 1 < W ? v0(k + 1) - here : 0;
    const double gy = y + 1 < H ? v0(k + W) - here : 0;
    e[p] = static_cast<T>(1 / (1 + hypot(gx, gy)));
  }
}

}  // namespace

void star_field(const Tensor& centers, const Tensor& s) {
  const int64_t N = s.size(0), H = s.size(2), W = s.size(3);
  if (s.numel() == 0) return;
  dispatch_floating(s.dtype(), "cuda star_field", [&](auto tag) {
    using T = decltype(tag);
    star_field_kernel<<<blocks_for(N * H * W), kThreads, 0, stream(s)>>>(
        N, H, W, ptr<T>(centers), ptr<T>(s));
  });
  TDSEG_LAUNCH_CHECK();
}

void star_centroids(const Tensor& u, int64_t star, const Tensor& c) {
  const int64_t N = u.size(0), C = u.size(1), H = u.size(2), W = u.size(3);
  if (N == 0) return;
  dispatch_floating(u.dtype(), "cuda star_centroids", [&](auto tag) {
    using T = decltype(tag);
    star_centroids_kernel<<<static_cast<unsigned>(N), kCentroidThreads, 0, stream(u)>>>(
        C, H, W, star, ptr<T>(u), ptr<T>(c));
  });
  TDSEG_LAUNCH_CHECK();
}

void edge_weight(const Tensor& image, const Tensor& e) {
  const int64_t N = image.size(0), C = image.size(1), H = image.size(2), W = image.size(3);
  if (e.numel() == 0) return;
  dispatch_floating(image.dtype(), "cuda edge_weight", [&](auto tag) {
    using T = decltype(tag);
    edge_weight_kernel<<<blocks_for(N * H * W), kThreads, 0, stream(image)>>>(
        N, C, H, W, ptr<T>(image), ptr<T>(e));
  });
  TDSEG_LAUNCH_CHECK();
}

}  // namespace tdseg::cuda
