// The tile kernel of the fused STD op's backward on CUDA (see std_fused_cuda_tile.h).
//
// A block is 256 threads seen as kTx x kTy = 32 x 8 (tx the lane, ty the warp) and owns a
// tile of kTileW x kTileH = 32 x 16 pixels of one image: thread (tx, ty) the pixels
// (x0 + tx, y0 + ty + 8 j), j = 0, 1. For each class c in turn the block
//   1. loads f(plane c) on the tile and its halo of r = (K - 1) / 2 into shared memory
//      ((16 + 2r) x (32 + 2r) values, 0 outside the image: zero padding),
//   2. blurs it along rows with g_c into a second buffer ((16 + 2r) x 32 values),
//   3. blurs that along columns into each thread's own pixels, in registers,
// and uses the result at once. The sum over classes (the softmax backward's <u, gu>) is
// each thread's, over its own pixels. A warp's loads and stores are 32 consecutive pixels
// of a row: coalesced. The halo is read again by the neighbouring tiles, from L2:
// (16 + 2r)(32 + 2r) / 512 = 1.6 reads of each value for r = 3, one of them from memory.
#include "layers/std/std_fused_cuda_tile.h"

#include <algorithm>

#include "core/error.h"
#include "cuda/launch.h"

namespace tdseg::cuda::std_tile {

namespace {

using std_device::Dims;

constexpr int kTx = 32, kTy = 8, kBlock = kTx * kTy, kRowsPer = 2;
constexpr int kTileW = kTx, kTileH = kTy * kRowsPer;
constexpr int64_t kMaxTileRadius = 16;  // K <= 33: the tiles stay under 48 KB in float64
constexpr int64_t kMaxGridY = 65535;

template <typename T>
__device__ T* shared_tile() {
  extern __shared__ __align__(16) unsigned char tile_bytes[];
  return reinterpret_cast<T*>(tile_bytes);
}

// The block's tile: its first pixel (x0, y0) in the image, the halo r, the shared
// buffers' shapes, and the thread's own pixels.
struct Tile {
  int r, pitch, rows_h;
  int64_t x0, y0;
  __device__ Tile(const Dims& d, int K) : r((K - 1) / 2), pitch(kTileW + 2 * r), rows_h(kTileH + 2 * r) {
    const int64_t tiles_x = (d.W + kTileW - 1) / kTileW;
    x0 = blockIdx.x % tiles_x * kTileW;
    y0 = blockIdx.x / tiles_x * kTileH;
  }
  __device__ int64_t x() const { return x0 + threadIdx.x % kTx; }
  __device__ int64_t y(int j) const { return y0 + threadIdx.x / kTx + kTy * j; }
};

// out[j] = (g (x) g) * f(plane) at the thread's pixel j: steps 1 to 3 above, the row pass
// and the column pass each summing their K products in tap order from 0, as the separate
// passes (std_fused_cuda_blur.cu) and the CPU do. Every thread of the block must call it.
template <typename T, typename F>
__device__ void blur_plane(const Dims& d, const Tile& t, const T* __restrict__ plane,
                           const T* __restrict__ g, int K, F f, T* in, T* rows,
                           T (&out)[kRowsPer]) {
  __syncthreads();  // the previous plane's tiles have been read
  for (int idx = threadIdx.x; idx < t.rows_h * t.pitch; idx += kBlock) {
    const int j = idx / t.pitch, i = idx - j * t.pitch;
    const int64_t y = t.y0 - t.r + j, x = t.x0 - t.r + i;
    in[idx] = y >= 0 && y < d.H && x >= 0 && x < d.W ? f(plane[y * d.W + x]) : T(0);
  }
  __syncthreads();
  for (int idx = threadIdx.x; idx < t.rows_h * kTileW; idx += kBlock) {
    const int j = idx / kTileW, i = idx - j * kTileW;
    const T* window = in + j * t.pitch + i;  // window[b] = f at x0 + i + b - r
    T acc = 0;
    for (int b = 0; b < K; ++b) acc += g[b] * window[b];
    rows[idx] = acc;
  }
  __syncthreads();
  const int tx = threadIdx.x % kTx, ty = threadIdx.x / kTx;
#pragma unroll
  for (int j = 0; j < kRowsPer; ++j) {
    const T* window = rows + (ty + kTy * j) * kTileW + tx;  // window[a * kTileW]: row y + a - r
    T s = 0;
    for (int a = 0; a < K; ++a) s += g[a] * window[a * kTileW];
    out[j] = s;
  }
}

// One iteration back (std_fused_cuda_tile.h): head_kernel, the adjoint blur and
// softmax_backward_kernel in one. gz_out holds gu until the last class.
template <typename T>
__global__ void adjoint_softmax_kernel(Dims d, const T* __restrict__ taps, int K, T lambda, T eps,
                                       const T* __restrict__ gz, const T* __restrict__ u,
                                       const T* __restrict__ star_div, int64_t star,
                                       T* __restrict__ go, T* __restrict__ gz_out) {
  T* in = shared_tile<T>();
  const Tile t(d, K);
  T* rows = in + t.rows_h * t.pitch;
  const int64_t x = t.x();
  for (int64_t n = blockIdx.y; n < d.N; n += gridDim.y) {
    double s[kRowsPer] = {};
    for (int64_t c = 0; c < d.C; ++c) {
      T a[kRowsPer];
      blur_plane(d, t, gz + (n * d.C + c) * d.L, taps + c * K, K,
                 std_device::HeadGradient<T>{lambda, eps},
                 in, rows, a);
#pragma unroll
      for (int j = 0; j < kRowsPer; ++j) {
        const int64_t y = t.y(j);
        if (x >= d.W || y >= d.H) continue;
        const int64_t k = y * d.W + x, i = (n * d.C + c) * d.L + k;
        go[i] += gz[i] / eps;
        const T v = star_div && c == star ? -star_div[n * d.L + k] : T(0);
        const T gu = v - T(2) * a[j];
        s[j] += static_cast<double>(gu) * u[i];
        gz_out[i] = gu;
      }
    }
#pragma unroll
    for (int j = 0; j < kRowsPer; ++j) {
      const int64_t y = t.y(j);
      if (x >= d.W || y >= d.H) continue;
      const int64_t base = n * d.C * d.L + y * d.W + x;
      for (int64_t c = 0, i = base; c < d.C; ++c, i += d.L)
        gz_out[i] = static_cast<T>(u[i] * (gz_out[i] - s[j]));
    }
  }
}

dim3 grid_of(const Dims& d) {
  const int64_t tiles = (d.W + kTileW - 1) / kTileW * ((d.H + kTileH - 1) / kTileH);
  check<ValueError>(tiles < (int64_t(1) << 31), "std (cuda): image ", d.H, "x", d.W, " is too large");
  return dim3(static_cast<unsigned>(tiles), static_cast<unsigned>(std::min(d.N, kMaxGridY)));
}

template <typename T>
size_t tile_bytes(int64_t K) {
  const int64_t r = (K - 1) / 2;
  return static_cast<size_t>((kTileH + 2 * r) * (kTileW + 2 * r + kTileW)) * sizeof(T);
}

}  // namespace

bool tile_fits(int64_t K) { return (K - 1) / 2 <= kMaxTileRadius; }

template <typename T>
void adjoint_softmax(const Dims& d, const T* taps, int64_t K, T lambda, T eps, const T* gz,
                     const T* u, const T* star_div, int64_t star, T* go, T* gz_out,
                     cudaStream_t stream) {
  adjoint_softmax_kernel<<<grid_of(d), kBlock, tile_bytes<T>(K), stream>>>(
      d, taps, static_cast<int>(K), lambda, eps, gz, u, star_div, star, go, gz_out);
  TDSEG_LAUNCH_CHECK();
}

#define TDSEG_STD_TILE(T)                                                                        \
  template void adjoint_softmax<T>(const Dims&, const T*, int64_t, T, T, const T*, const T*,     \
                                   const T*, int64_t, T*, T*, cudaStream_t);
TDSEG_STD_TILE(float)
TDSEG_STD_TILE(double)
#undef TDSEG_STD_TILE

}  // namespace tdseg::cuda::std_tile
