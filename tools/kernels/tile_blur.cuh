// The shared-memory Gaussian of the kernel harnesses' tile kernels (the scheme of
// layers/std/std_fused_cuda_tile.cu): a block of 32 x 8 threads owns 32 x 16 pixels of
// one image, thread (tx, ty) the pixels (x0 + tx, y0 + ty + 8 j), j = 0, 1; per class it
// loads the tile and its halo of r = (K - 1) / 2, blurs it along rows into a second
// buffer, then along columns into each thread's own pixels. Device code only.
#pragma once
#include <cuda_runtime.h>

namespace tdseg::harness {

constexpr int kTx = 32, kTy = 8, kBlock = kTx * kTy, kRowsPer = 2;
constexpr int kTileW = kTx, kTileH = kTy * kRowsPer;
constexpr int kLoads = 4;  // tile values a thread holds for r <= 3: 22 x 38 <= 4 x 256

// Shared bytes of a tile for K taps: (16 + 2r) x (32 + 2r) values, then (16 + 2r) x 32.
inline size_t tile_bytes(int K) {
  const int r = (K - 1) / 2;
  return size_t(kTileH + 2 * r) * (2 * kTileW + 2 * r) * sizeof(float);
}
inline dim3 tile_grid(int N, int H, int W) {
  return dim3((W + kTileW - 1) / kTileW * ((H + kTileH - 1) / kTileH), N < 65535 ? N : 65535);
}

// kK: the taps fixed at compile time (their loops unrolled), or 0 for the runtime K.
template <int kK>
struct TileBlur {
  int K, r, pitch, rows_h, count, H, W, x0, y0, tx, ty;
  float* in;    // the tile with its halo, f applied, 0 outside the image
  float* rows;  // its row pass
  float next[kLoads];  // the next class's tile values, loaded ahead (prefetch)

  __device__ TileBlur(int H_, int W_, int K_, float* smem)
      : K(kK > 0 ? kK : K_), r((K - 1) / 2), pitch(kTileW + 2 * r), rows_h(kTileH + 2 * r),
        count(rows_h * pitch), H(H_), W(W_), tx(threadIdx.x % kTx), ty(threadIdx.x / kTx) {
    const int tiles_x = (W + kTileW - 1) / kTileW;
    x0 = blockIdx.x % tiles_x * kTileW;
    y0 = blockIdx.x / tiles_x * kTileH;
    in = smem;
    rows = smem + count;
  }
  __device__ int x() const { return x0 + tx; }
  __device__ int y(int j) const { return y0 + ty + kTy * j; }
  __device__ bool own(int j) const { return x() < W && y(j) < H; }

  // value(y, x) is f of the plane at an in-image pixel; the tile holds 0 elsewhere.
  template <typename F>
  __device__ float tile_value(int idx, F value) const {
    const int j = idx / pitch, yy = y0 - r + j, xx = x0 - r + (idx - j * pitch);
    return yy >= 0 && yy < H && xx >= 0 && xx < W ? value(yy, xx) : 0.0f;
  }
  template <typename F>
  __device__ void load(F value) {  // into `in` (after a barrier)
    for (int idx = threadIdx.x; idx < count; idx += kBlock) in[idx] = tile_value(idx, value);
  }
  template <typename F>
  __device__ void prefetch(F value) {  // into `next`, for store() after the next barrier
#pragma unroll
    for (int m = 0; m < kLoads; ++m)
      if (threadIdx.x + kBlock * m < count) next[m] = tile_value(threadIdx.x + kBlock * m, value);
  }
  __device__ void store() {
#pragma unroll
    for (int m = 0; m < kLoads; ++m)
      if (threadIdx.x + kBlock * m < count) in[threadIdx.x + kBlock * m] = next[m];
  }

  // out[j] = g (x) g * tile at the thread's pixel j, each pass summing in tap order from
  // 0 as the library does. Call after the barrier that follows the tile's store.
  __device__ void blur(const float* g, float (&out)[kRowsPer]) {
    for (int idx = threadIdx.x; idx < rows_h * kTileW; idx += kBlock) {
      const int j = idx / kTileW, i = idx - j * kTileW;
      const float* window = in + j * pitch + i;
      float acc = 0;
#pragma unroll
      for (int b = 0; b < K; ++b) acc += g[b] * window[b];
      rows[idx] = acc;
    }
    __syncthreads();
#pragma unroll
    for (int j = 0; j < kRowsPer; ++j) {
      const float* window = rows + (ty + kTy * j) * kTileW + tx;
      float a = 0;
#pragma unroll
      for (int b = 0; b < K; ++b) a += g[b] * window[b * kTileW];
      out[j] = a;
    }
  }
};

}  // namespace tdseg::harness
