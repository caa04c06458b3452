// The separable Gaussian of the fused STD op on CUDA (see std_fused_cuda_blur.h).
//
// A block is 256 threads seen as kTx x kTy = 32 x 8 (tx the lane, ty the warp), and each
// thread computes kPer = 4 outputs:
//   row pass     a tile of 128 columns x 8 rows, loaded with its halo as 8 rows of
//                128 + 2r values; output x = x0 + tx + 32 i, so loads and stores are
//                coalesced along a row and the shared reads are conflict-free.
//   column pass  a tile of 32 columns x 32 rows, loaded as 32 + 2r rows of 32 values;
//                output y = y0 + ty + 8 i. One pass may run several (rows, taps) terms
//                through the same tile memory, one after the other.
// Every plane is (n, c): grid.x walks the tiles, grid.y (at most 65535) the planes, with
// a stride loop. Out-of-image values enter the tiles as 0: zero padding. Traffic per
// element of one pass: its inputs read once (plus the halo, 2r/128 or 2r/32 more, from
// L2), its output written once; the taps (2K values of the class) stay in L1.
#include "layers/std/std_fused_cuda_blur.h"

#include <algorithm>

#include "core/error.h"
#include "cuda/block_reduce.cuh"
#include "cuda/launch.h"

namespace tdseg::cuda::std_blur {

namespace {

constexpr int kTx = 32, kTy = 8, kBlock = kTx * kTy, kPer = 4;
constexpr int kRowW = kTx * kPer;  // columns of a row-pass tile
constexpr int kColH = kTy * kPer;  // rows of a column-pass tile
constexpr int64_t kMaxGridY = 65535;

template <typename T>
__device__ T* shared_tile() {
  extern __shared__ __align__(16) unsigned char tile_bytes[];
  return reinterpret_cast<T*>(tile_bytes);
}

template <Source S, typename T>
__device__ __forceinline__ T source_value(T v, const T* e_row, int64_t x) {
  if constexpr (S == Source::OneMinusTwoU) return T(1) - T(2) * v;
  else if constexpr (S == Source::OneMinusU) return T(1) - v;
  else if constexpr (S == Source::EdgeTimes) return e_row[x] * v;
  else return v;
}

// Row pass (gaussian_blur.cpp, filter_line along rows):
//   out_g[plane][y][x]  = sum_b g_c[b]  f(in)[plane][y][x + b - r]   (0 outside [0, W))
//   out_dg[plane][y][x] = sum_b dg_c[b] f(in)[plane][y][x + b - r]   (when out_dg)
// Reads in (and e) once, writes out_g (and out_dg) once.
template <typename T, Source S>
__global__ void rows_kernel(Planes<T> pl, const T* __restrict__ in, T* __restrict__ out_g,
                            T* __restrict__ out_dg) {
  T* tile = shared_tile<T>();
  const int K = static_cast<int>(pl.K), r = (K - 1) / 2, pitch = kRowW + 2 * r;
  const int tx = threadIdx.x % kTx, ty = threadIdx.x / kTx;
  const int64_t L = pl.H * pl.W, planes = pl.N * pl.C, tiles_x = (pl.W + kRowW - 1) / kRowW;
  const int64_t x0 = blockIdx.x % tiles_x * kRowW, y = blockIdx.x / tiles_x * kTy + ty;
  for (int64_t plane = blockIdx.y; plane < planes; plane += gridDim.y) {
    const int64_t c = plane % pl.C, row = plane * L + y * pl.W;
    const T* e_row = pl.edge ? pl.edge + plane / pl.C * L + y * pl.W : nullptr;
    __syncthreads();  // the previous plane's tile has been read
    for (int j = tx; j < pitch; j += kTx) {
      const int64_t x = x0 - r + j;
      tile[ty * pitch + j] =
          y < pl.H && x >= 0 && x < pl.W ? source_value<S>(in[row + x], e_row, x) : T(0);
    }
    __syncthreads();
    if (y >= pl.H) continue;
    const T* g = pl.taps + c * K;
    const T* dg = pl.taps + (pl.C + c) * K;
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
      const int64_t x = x0 + tx + kTx * i;
      if (x >= pl.W) break;
      const T* window = tile + ty * pitch + tx + kTx * i;  // window[b] = f(in) at x + b - r
      T acc = 0;
      for (int b = 0; b < K; ++b) acc += g[b] * window[b];
      out_g[row + x] = acc;
      if (out_dg) {
        T acc_d = 0;
        for (int b = 0; b < K; ++b) acc_d += dg[b] * window[b];
        out_dg[row + x] = acc_d;
      }
    }
  }
}

// Column pass of one term (gaussian_blur.cpp, the column loop of separable): adds
//   sum_a taps[a] src[y + a - r][x]   (0 outside [0, H))
// to acc[i] for the thread's rows y = y0 + ty + kTy i, in tap order, as the CPU does.
// Every thread of the block must call it (it has barriers).
template <typename T>
__device__ void add_column_taps(const Planes<T>& pl, const T* __restrict__ src,
                                const T* __restrict__ taps, int64_t x, int64_t y0, T* tile,
                                T (&acc)[kPer]) {
  const int K = static_cast<int>(pl.K), r = (K - 1) / 2, rows = kColH + 2 * r;
  const int tx = threadIdx.x % kTx, ty = threadIdx.x / kTx;
  __syncthreads();  // the tile's previous contents have been read
  for (int j = ty; j < rows; j += kTy) {
    const int64_t y = y0 - r + j;
    tile[j * kTx + tx] = x < pl.W && y >= 0 && y < pl.H ? src[y * pl.W + x] : T(0);
  }
  __syncthreads();
#pragma unroll
  for (int i = 0; i < kPer; ++i) {
    const T* window = tile + (ty + kTy * i) * kTx + tx;  // window[a * kTx] = src at y + a - r
    T s = acc[i];
    for (int a = 0; a < K; ++a) s += taps[a] * window[a * kTx];
    acc[i] = s;
  }
}

// The output pixel of a column-pass thread: x, and the first row y0 of its tile.
struct ColumnTile {
  int64_t x, y0;
  __device__ ColumnTile(int64_t W) {
    const int64_t tiles_x = (W + kTx - 1) / kTx;
    x = blockIdx.x % tiles_x * kTx + threadIdx.x % kTx;
    y0 = blockIdx.x / tiles_x * kColH;
  }
  __device__ int64_t y(int i) const { return y0 + threadIdx.x / kTx + kTy * i; }
  // f(i, k) for each of the thread's outputs i inside the image, k its offset in the plane.
  template <typename F>
  __device__ void for_outputs(int64_t H, int64_t W, F&& f) const {
#pragma unroll
    for (int i = 0; i < kPer; ++i)
      if (x < W && y(i) < H) f(i, y(i) * W + x);
  }
};

// P = k*A, or (k*A) e - k*B for A = rows of 1 - u, B = rows of e u.   (eq. 7)
// Reads A (and B, e), writes P: 2 (4) * sizeof(T) bytes per element.
template <typename T>
__global__ void kernel_term_cols_kernel(Planes<T> pl, Rows<T> rows, T* __restrict__ P) {
  T* tile = shared_tile<T>();
  const int64_t L = pl.H * pl.W, planes = pl.N * pl.C;
  const ColumnTile at(pl.W);
  for (int64_t plane = blockIdx.y; plane < planes; plane += gridDim.y) {
    const T* g = pl.taps + plane % pl.C * pl.K;
    T a[kPer] = {}, b[kPer] = {};
    add_column_taps(pl, rows.a_g + plane * L, g, at.x, at.y0, tile, a);
    if (pl.edge) add_column_taps(pl, rows.b_g + plane * L, g, at.x, at.y0, tile, b);
    at.for_outputs(pl.H, pl.W, [&](int i, int64_t k) {
      P[plane * L + k] = pl.edge ? a[i] * pl.edge[plane / pl.C * L + k] - b[i] : a[i];
    });
  }
}

// (dK/du)^T gP with A = rows of gP, B = rows of e gP (std_fused_kernels.h,
// kernel_term_adjoint; k is symmetric, so k^T = k):
//   gu = -star_div - 2 k*gP,   or   gu = (-star_div - e k*gP) - k*(e gP)
// Reads A (and B, e; star_div on the star plane), writes gu: 2 (4) * sizeof(T) per element.
template <typename T>
__global__ void kernel_term_adjoint_cols_kernel(Planes<T> pl, Rows<T> rows,
                                                const T* __restrict__ star_div, int64_t star,
                                                T* __restrict__ gu) {
  T* tile = shared_tile<T>();
  const int64_t L = pl.H * pl.W, planes = pl.N * pl.C;
  const ColumnTile at(pl.W);
  for (int64_t plane = blockIdx.y; plane < planes; plane += gridDim.y) {
    const int64_t c = plane % pl.C, n = plane / pl.C;
    const T* g = pl.taps + c * pl.K;
    T a[kPer] = {}, b[kPer] = {};
    add_column_taps(pl, rows.a_g + plane * L, g, at.x, at.y0, tile, a);
    if (pl.edge) add_column_taps(pl, rows.b_g + plane * L, g, at.x, at.y0, tile, b);
    at.for_outputs(pl.H, pl.W, [&](int i, int64_t k) {
      const T v = star_div && c == star ? -star_div[n * L + k] : T(0);
      gu[plane * L + k] = pl.edge ? (v - pl.edge[n * L + k] * a[i]) - b[i] : v - T(2) * a[i];
    });
  }
}

// <gP, dK_c/dsigma_c (u)> per (plane, tile) (std_fused_kernels.h, kernel_term_dsigma):
// dk = dg (x) g + g (x) dg, so d = col_dg(A_g) + col_g(A_dg) [then d e - (col_dg(B_g) +
// col_g(B_dg))], summed in that order as gaussian_blur.cpp does. Reads the row buffers and
// gP once: 3 (6) * sizeof(T) bytes per element; one double per block.
template <typename T>
__global__ void kernel_term_dsigma_cols_kernel(Planes<T> pl, Rows<T> rows,
                                               const T* __restrict__ gP,
                                               double* __restrict__ partial) {
  T* tile = shared_tile<T>();
  const int64_t L = pl.H * pl.W, planes = pl.N * pl.C;
  const ColumnTile at(pl.W);
  for (int64_t plane = blockIdx.y; plane < planes; plane += gridDim.y) {
    const int64_t c = plane % pl.C, n = plane / pl.C;
    const T* g = pl.taps + c * pl.K;
    const T* dg = pl.taps + (pl.C + c) * pl.K;
    T a[kPer] = {}, b[kPer] = {};
    add_column_taps(pl, rows.a_g + plane * L, dg, at.x, at.y0, tile, a);
    add_column_taps(pl, rows.a_dg + plane * L, g, at.x, at.y0, tile, a);
    if (pl.edge) {
      add_column_taps(pl, rows.b_g + plane * L, dg, at.x, at.y0, tile, b);
      add_column_taps(pl, rows.b_dg + plane * L, g, at.x, at.y0, tile, b);
    }
    double s = 0;
    at.for_outputs(pl.H, pl.W, [&](int i, int64_t k) {
      const T d = pl.edge ? a[i] * pl.edge[n * L + k] - b[i] : a[i];
      s += static_cast<double>(gP[plane * L + k]) * d;
    });
    store_block_sum(s, partial + plane * gridDim.x + blockIdx.x);
  }
}

template <typename T>
dim3 grid_of(const Planes<T>& pl, int64_t tile_w, int64_t tile_h) {
  const int64_t tiles = (pl.W + tile_w - 1) / tile_w * ((pl.H + tile_h - 1) / tile_h);
  check<ValueError>(tiles < (int64_t(1) << 31), "std (cuda): image ", pl.H, "x", pl.W,
                    " is too large");
  return dim3(static_cast<unsigned>(tiles),
              static_cast<unsigned>(std::min<int64_t>(pl.N * pl.C, kMaxGridY)));
}

template <typename T>
size_t row_tile_bytes(const Planes<T>& pl) {
  return kTy * (kRowW + 2 * ((pl.K - 1) / 2)) * sizeof(T);
}

template <typename T>
size_t column_tile_bytes(const Planes<T>& pl) {
  return (kColH + 2 * ((pl.K - 1) / 2)) * kTx * sizeof(T);
}

}  // namespace

template <typename T>
void blur_rows(const Planes<T>& pl, Source source, const T* in, T* out_g, T* out_dg) {
  const dim3 grid = grid_of(pl, kRowW, kTy);
  const size_t bytes = row_tile_bytes(pl);
  const auto launch = [&](auto kernel) {
    kernel<<<grid, kBlock, bytes, pl.stream>>>(pl, in, out_g, out_dg);
  };
  switch (source) {
    case Source::OneMinusTwoU: launch(rows_kernel<T, Source::OneMinusTwoU>); break;
    case Source::OneMinusU: launch(rows_kernel<T, Source::OneMinusU>); break;
    case Source::EdgeTimes: launch(rows_kernel<T, Source::EdgeTimes>); break;
    case Source::Identity: launch(rows_kernel<T, Source::Identity>); break;
  }
  TDSEG_LAUNCH_CHECK();
}

template <typename T>
void kernel_term_cols(const Planes<T>& pl, const Rows<T>& rows, T* P) {
  kernel_term_cols_kernel<<<grid_of(pl, kTx, kColH), kBlock, column_tile_bytes(pl), pl.stream>>>(
      pl, rows, P);
  TDSEG_LAUNCH_CHECK();
}

template <typename T>
void kernel_term_adjoint_cols(const Planes<T>& pl, const Rows<T>& rows, const T* star_div,
                              int64_t star, T* gu) {
  kernel_term_adjoint_cols_kernel<<<grid_of(pl, kTx, kColH), kBlock, column_tile_bytes(pl),
                                    pl.stream>>>(pl, rows, star_div, star, gu);
  TDSEG_LAUNCH_CHECK();
}

template <typename T>
void kernel_term_dsigma_cols(const Planes<T>& pl, const Rows<T>& rows, const T* gP,
                             double* partial) {
  kernel_term_dsigma_cols_kernel<<<grid_of(pl, kTx, kColH), kBlock, column_tile_bytes(pl),
                                   pl.stream>>>(pl, rows, gP, partial);
  TDSEG_LAUNCH_CHECK();
}

template <typename T>
int64_t column_tiles(const Planes<T>& pl) {
  return grid_of(pl, kTx, kColH).x;
}

#define TDSEG_STD_BLUR(T)                                                                     \
  template void blur_rows<T>(const Planes<T>&, Source, const T*, T*, T*);                   \
  template void kernel_term_cols<T>(const Planes<T>&, const Rows<T>&, T*);                    \
  template void kernel_term_adjoint_cols<T>(const Planes<T>&, const Rows<T>&, const T*,      \
                                            int64_t, T*);                                    \
  template void kernel_term_dsigma_cols<T>(const Planes<T>&, const Rows<T>&, const T*,       \
                                           double*);                                         \
  template int64_t column_tiles<T>(const Planes<T>&);
TDSEG_STD_BLUR(float)
TDSEG_STD_BLUR(double)
#undef TDSEG_STD_BLUR

}  // namespace tdseg::cuda::std_blur
