// The fused STD op's forward iteration as one kernel (see std_fused_cuda_pipeline.h).
//
// A block owns kSegment = 128 pixels of `rows` consecutive rows of one image, x0 .. x0 +
// 127, and its thread j the pixel x0 - r + j of each row (r = (K - 1) / 2): the segment and
// r pixels either side, which the neighbouring blocks compute too (2r / 128 more work, its
// reads from L2). The block has 128 + 2r threads, rounded up to whole warps. In turn:
//   1. for each class, the column pass of rows_t at the thread's pixel: K values of a
//      column, 0 outside the image. A warp's loads are 32 consecutive pixels of a row,
//      and the blocks of the neighbouring rows find them in L2. Then z at the pixel.
//   2. the softmax over the pixel's classes (argument_softmax_kernel's arithmetic), z and
//      then e kept in shared memory, [rows][C][128 + 2r] values, instead of in memory.
//   3. after a barrier, each of the first 128 threads writes its pixel's u_{t+1} and the
//      row pass of 1 - 2u_{t+1}, from its neighbours' values in shared memory.
// Traffic per element: rows_t and o read, u_{t+1} and rows_{t+1} written (16 B in
// float32), plus the halo's 2r / 128.
#include "layers/std/std_fused_cuda_pipeline.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "cuda/launch.h"

namespace tdseg::cuda::std_pipeline {

namespace {

using std_device::Argument;
using std_device::Dims;

constexpr int kSegment = 128;
constexpr size_t kMaxShared = 48 * 1024;  // a block's shared memory without opting in
constexpr int64_t kMaxGridY = 65535;
constexpr int kMaxRadius = 16;
constexpr int kMaxThreads = kSegment + 2 * kMaxRadius;

template <typename T>
__device__ T* shared_values() {
  extern __shared__ __align__(16) unsigned char value_bytes[];
  return reinterpret_cast<T*>(value_bytes);
}

// The sizes of one image in 32 bits (fits() checks that C L < 2^31), the block's pixels:
// the first (x0, y0) of its segment, the halo r, the span of pixels it computes (128 + 2r),
// and thread j's pixel x = x0 - r + j.
struct Segment {
  int C, H, W, L, r, span, x0, y0, x;
  __device__ Segment(const Dims& d, int K, int rows)
      : C(int(d.C)), H(int(d.H)), W(int(d.W)), L(int(d.L)), r((K - 1) / 2),
        span(kSegment + 2 * r) {
    const int segments = (W + kSegment - 1) / kSegment;
    x0 = int(blockIdx.x % segments) * kSegment;
    y0 = int(blockIdx.x / segments) * rows;
    x = x0 - r + int(threadIdx.x);
  }
  // Whether the thread's pixel is in the image (the span's ends may not be).
  __device__ bool in_image() const { return int(threadIdx.x) < span && x >= 0 && x < W; }
  // Whether it is one of the segment's own pixels, whose outputs the block writes.
  __device__ bool own() const { return in_image() && x >= x0 && x < x0 + kSegment; }
};

// Step 3 for row y of an image (its arrays from `image` on): thread j < 128 writes, at
// its pixel x0 + j and for each class, u (when not null) and the row pass of 1 - 2u (when
// rows is not null), from v[c * span + slot], the values of u at the block's pixels. The
// row pass is rows_kernel's arithmetic (std_fused_cuda_blur.cu): K products summed in tap
// order from 0, 0 outside the image.
template <typename T>
__device__ void write_row(const Segment& s, const T* __restrict__ taps, int K, const T* v,
                          int64_t image, int y, T* __restrict__ u, T* __restrict__ rows) {
  const int j = threadIdx.x, x = s.x0 + j;
  if (j >= kSegment || x >= s.W || y >= s.H) return;
  for (int c = 0; c < s.C; ++c) {
    const T* vc = v + c * s.span + j;  // vc[b]: u at x + b - r
    const int64_t i = image + c * s.L + y * s.W + x;
    if (u) u[i] = vc[s.r];
    if (!rows) continue;
    const T* g = taps + c * K;
    T acc = 0;
    for (int b = 0; b < K; ++b) {
      const int xb = x + b - s.r;
      acc += g[b] * (xb >= 0 && xb < s.W ? T(1) - T(2) * vc[b] : T(0));
    }
    rows[i] = acc;
  }
}

// Steps 1 to 3 for rows y0 .. y0 + kRows - 1 of each image. Without u_next, z alone is
// written, at the segment's own pixels (the last iteration: z_T). kStar: SS-STD's term in
// the argument; STD's kernel goes without its code and registers.
template <typename T, int kRows, bool kStar>
__global__ void __launch_bounds__(kMaxThreads)
    iterate_kernel(Dims d, const T* __restrict__ taps, int K, Argument<T> a,
                   const T* __restrict__ rows, T* __restrict__ z, T* __restrict__ u_next,
                   T* __restrict__ rows_next) {
  T* v = shared_values<T>();
  const Segment s(d, K, kRows);
  const bool softmax = u_next != nullptr;  // the same in every thread: the barrier below
  for (int64_t n = blockIdx.y; n < d.N; n += gridDim.y) {
    const int64_t image = n * d.C * d.L;
    __syncthreads();  // the previous image's values have been read
    if (s.in_image() && (softmax || s.own())) {
      T m[kRows];
#pragma unroll
      for (int i = 0; i < kRows; ++i) m[i] = -static_cast<T>(INFINITY);
      for (int c = 0; c < s.C; ++c) {
        const T* column = rows + image + c * s.L + s.x;
        const T* g = taps + c * K;
        T P[kRows] = {};
        for (int b = 0; b < K + kRows - 1; ++b) {  // row y0 + b - r is tap b - i of row i
          const int y = s.y0 + b - s.r;
          const T value = y >= 0 && y < s.H ? column[y * s.W] : T(0);
#pragma unroll
          for (int i = 0; i < kRows; ++i)
            if (b - i >= 0 && b - i < K) P[i] += g[b - i] * value;
        }
#pragma unroll
        for (int i = 0; i < kRows; ++i) {
          if (s.y0 + i >= s.H) break;
          const int k = (s.y0 + i) * s.W + s.x;
          // std_device::argument's arithmetic, with P from the registers
          const T num = a.o[image + c * s.L + k] - a.lambda * P[i];
          T zc = num / a.eps;
          if (kStar && c == a.star) {
            const T* sx = a.s + n * 2 * d.L;
            zc -= std_device::div_q_s(a.q_star + n * d.L, sx, sx + d.L, k, d) / a.eps;
          }
          if (z && s.own()) z[image + c * s.L + k] = zc;
          v[(i * s.C + c) * s.span + threadIdx.x] = zc;
          m[i] = m[i] < zc ? zc : m[i];
        }
      }
#pragma unroll
      for (int i = 0; i < kRows; ++i) {
        if (!softmax || s.y0 + i >= s.H) break;
        T* vi = v + i * s.C * s.span + threadIdx.x;
        double sum = 0;
        for (int c = 0; c < s.C; ++c) {
          const T e = std_device::exp_of(vi[c * s.span] - m[i]);
          sum += e;
          vi[c * s.span] = e;
        }
        const double inv = 1.0 / sum;
        for (int c = 0; c < s.C; ++c) vi[c * s.span] = static_cast<T>(vi[c * s.span] * inv);
      }
    }
    if (!softmax) continue;
    __syncthreads();
#pragma unroll
    for (int i = 0; i < kRows; ++i)
      write_row(s, taps, K, v + i * s.C * s.span, image, s.y0 + i, u_next, rows_next);
  }
}

// rows = the row pass of 1 - 2u, through write_row as the iteration runs it.
template <typename T>
__global__ void __launch_bounds__(kMaxThreads)
    start_rows_kernel(Dims d, const T* __restrict__ taps, int K, const T* __restrict__ u,
                      T* __restrict__ rows) {
  T* v = shared_values<T>();
  const Segment s(d, K, 1);
  for (int64_t n = blockIdx.y; n < d.N; n += gridDim.y) {
    const int64_t image = n * d.C * d.L;
    __syncthreads();  // the previous image's values have been read
    if (s.in_image())
      for (int c = 0; c < s.C; ++c)
        v[c * s.span + threadIdx.x] = u[image + c * s.L + s.y0 * s.W + s.x];
    __syncthreads();
    write_row(s, taps, K, v, image, s.y0, static_cast<T*>(nullptr), rows);
  }
}

size_t shared_bytes(int64_t C, int64_t K, size_t value_bytes, int rows) {
  return static_cast<size_t>(rows * C * (kSegment + K - 1)) * value_bytes;
}

dim3 grid_for(const Dims& d, int rows) {
  const int64_t blocks = (d.W + kSegment - 1) / kSegment * ((d.H + rows - 1) / rows);
  check<ValueError>(blocks < (int64_t(1) << 31), "std (cuda): image ", d.H, "x", d.W,
                    " is too large");
  return dim3(static_cast<unsigned>(blocks), static_cast<unsigned>(std::min(d.N, kMaxGridY)));
}

int threads_for(int64_t K) { return static_cast<int>((kSegment + K - 1 + 31) / 32 * 32); }

}  // namespace

bool fits(const std_device::Dims& d, int64_t K, size_t value_bytes, int rows_per_block) {
  return (K - 1) / 2 <= kMaxRadius && d.C * d.L < (int64_t(1) << 31) &&
         shared_bytes(d.C, K, value_bytes, rows_per_block) <= kMaxShared;
}

template <typename T>
void start_rows(const Dims& d, const T* taps, int64_t K, const T* u, T* rows,
                cudaStream_t stream) {
  start_rows_kernel<<<grid_for(d, 1), threads_for(K), shared_bytes(d.C, K, sizeof(T), 1),
                      stream>>>(d, taps, static_cast<int>(K), u, rows);
  TDSEG_LAUNCH_CHECK();
}

template <typename T>
void iterate(const Dims& d, const T* taps, int64_t K, const Argument<T>& a, const T* rows, T* z,
             T* u_next, T* rows_next, cudaStream_t stream, int rows_per_block) {
  check<ValueError>(rows_per_block == 1 || rows_per_block == 2,
                    "std (cuda): rows a block must be 1 or 2, not ", rows_per_block);
  const dim3 grid = grid_for(d, rows_per_block);
  const int threads = threads_for(K);
  const size_t bytes = shared_bytes(d.C, K, sizeof(T), rows_per_block);
  const int k = static_cast<int>(K);
  const bool star = a.q_star != nullptr;
  if (rows_per_block == 1 && !star)
    iterate_kernel<T, 1, false><<<grid, threads, bytes, stream>>>(d, taps, k, a, rows, z, u_next,
                                                                  rows_next);
  if (rows_per_block == 1 && star)
    iterate_kernel<T, 1, true><<<grid, threads, bytes, stream>>>(d, taps, k, a, rows, z, u_next,
                                                                 rows_next);
  if (rows_per_block == 2 && !star)
    iterate_kernel<T, 2, false><<<grid, threads, bytes, stream>>>(d, taps, k, a, rows, z, u_next,
                                                                  rows_next);
  if (rows_per_block == 2 && star)
    iterate_kernel<T, 2, true><<<grid, threads, bytes, stream>>>(d, taps, k, a, rows, z, u_next,
                                                                 rows_next);
  TDSEG_LAUNCH_CHECK();
}

#define TDSEG_STD_PIPELINE(T)                                                                  \
  template void start_rows<T>(const Dims&, const T*, int64_t, const T*, T*, cudaStream_t);     \
  template void iterate<T>(const Dims&, const T*, int64_t, const Argument<T>&, const T*, T*, \
                           T*, T*, cudaStream_t, int);
TDSEG_STD_PIPELINE(float)
TDSEG_STD_PIPELINE(double)
#undef TDSEG_STD_PIPELINE

}  // namespace tdseg::cuda::std_pipeline
