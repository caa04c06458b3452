// The fused STD op's iteration as one kernel, forward and back (see
// std_fused_cuda_pipeline.h). The forward's, in detail (the backward's is the same scheme):
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

// What the forward's row pass blurs: 1 - 2u (eq. 7), rounded as the separate passes round
// it. The backward's blurs std_device::HeadGradient.
template <typename T>
struct OneMinusTwoU {
  __device__ T operator()(T u) const { return T(1) - T(2) * u; }
};

// The row pass of f(v) at thread j's own pixel x0 + j, from vc[slot], one class's values at
// the block's pixels: rows_kernel's arithmetic (std_fused_cuda_blur.cu), K products summed
// in tap order from 0, 0 outside the image. Every thread loads all K values (vc[j + b] is
// in the span: j < 128) and drops those outside the image. On a GPU that costs what a load
// some threads skip costs; it is so for the emulator's count of bank conflicts, which joins
// a warp's loads by their order and would join a skipped one out of step (traffic.h, Banks).
template <typename T, typename F>
__device__ T row_pass(const Segment& s, const T* __restrict__ g, int K, const T* vc, F f) {
  const int j = threadIdx.x;
  T acc = 0;
  for (int b = 0; b < K; ++b) {
    const int xb = s.x0 + j + b - s.r;
    const T value = vc[j + b];  // at a pixel outside the image, what nobody wrote
    acc += g[b] * (xb >= 0 && xb < s.W ? f(value) : T(0));
  }
  return acc;
}

// Whether thread j writes the outputs of its own pixel x0 + j in row y.
__device__ inline bool writes(const Segment& s, int y) {
  return int(threadIdx.x) < kSegment && s.x0 + int(threadIdx.x) < s.W && y < s.H;
}

// VP-STD: sums[(n C + c) B + b] = the sum of value(c, j) over block b's own pixels j of
// row y of image n (B blocks an image): warp k adds classes k, k + warps, ... in a fixed
// order (each lane its pixels in turn, then the shuffle tree).
template <typename F>
__device__ void store_shares(const Segment& s, int64_t n, int y, F value,
                             double* __restrict__ sums) {
  const int lane = threadIdx.x % 32, warps = blockDim.x / 32;
  for (int c = threadIdx.x / 32; c < s.C; c += warps) {
    double sum = 0;
    for (int j = lane; j < kSegment; j += 32)
      if (s.x0 + j < s.W && y < s.H) sum += value(c, j);
    for (int o = 16; o > 0; o >>= 1) sum += __shfl_down_sync(0xffffffffu, sum, o);
    if (lane == 0) sums[(n * s.C + c) * gridDim.x + blockIdx.x] = sum;
  }
}

// iterate_kernel's VP-STD mode, for w = softmax(a_t): the shares of its planes' sums into
// sums; for the backward (vp_weights) also w itself, and gz's shares after w's.
template <typename T>
struct Weights {
  double* sums = nullptr;
  T* w = nullptr;
  const T* gz = nullptr;
};

// The outputs of Weights for row y0 of image n, from w = softmax(a_t) in v.
template <typename T>
__device__ void store_weights(const Segment& s, const Dims& d, const T* v, int64_t n,
                              const Weights<T>& out) {
  const int y = s.y0;
  const int64_t row = n * d.C * d.L + y * s.W + s.x0;  // class 0's, at x0
  store_shares(s, n, y, [&](int c, int j) { return double(v[c * s.span + s.r + j]); }, out.sums);
  if (out.gz)
    store_shares(s, n, y, [&](int c, int j) { return double(out.gz[row + c * s.L + j]); },
                 out.sums + d.N * d.C * gridDim.x);
  if (out.w && writes(s, y))
    for (int c = 0; c < s.C; ++c)
      out.w[row + c * s.L + threadIdx.x] = v[c * s.span + s.r + threadIdx.x];
}

// Steps 1 to 3 for rows y0 .. y0 + kRows - 1 of each image; without rows (the forward's
// start), no kernel term: z_0 = o / eps. Without u_next and rows_next, z alone is
// written, at the segment's own pixels (the last iteration: z_T). With kWeights
// (VP-STD's a_t and w = softmax(a_t), kRows = 1), the outputs of Weights alone.
// The halo is computed only for rows_next. kStar: SS-STD's term in the argument (and
// star_only: u_next's planes of the star class alone); the kernels without it or without
// kWeights go without their code and registers.
template <typename T, int kRows, bool kStar, bool kWeights>
__global__ void __launch_bounds__(kMaxThreads)
    iterate_kernel(Dims d, const T* __restrict__ taps, int K, Argument<T> a,
                   const T* __restrict__ rows, T* __restrict__ z, T* __restrict__ u_next,
                   T* __restrict__ rows_next, bool star_only, Weights<T> weights) {
  if constexpr (!kStar) a.q_star = nullptr;  // the compiler drops the star term's code
  T* v = shared_values<T>();
  const Segment s(d, K, kRows);
  // The same in every thread: the barriers below.
  const bool softmax = u_next != nullptr || rows_next != nullptr || kWeights;
  for (int64_t n = blockIdx.y; n < d.N; n += gridDim.y) {
    const int64_t image = n * d.C * d.L;
    __syncthreads();  // the previous image's values have been read
    if (s.in_image() && (rows_next || s.own())) {
      T m[kRows];
#pragma unroll
      for (int i = 0; i < kRows; ++i) m[i] = -static_cast<T>(INFINITY);
      for (int c = 0; c < s.C; ++c) {
        const T* column = rows ? rows + image + c * s.L + s.x : nullptr;
        const T* g = taps + c * K;
        T P[kRows] = {};
        for (int b = 0; column && b < K + kRows - 1; ++b) {  // row y0 + b - r: tap b - i of row i
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
          const int64_t at = image + c * s.L + k;
          const T zc = std_device::argument(a, d, n, c, k, at, rows != nullptr, P[i]);
          if (z && s.own()) z[at] = zc;
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
    if constexpr (kWeights) {
      store_weights(s, d, v, n, weights);
    } else {
#pragma unroll
      for (int i = 0; i < kRows; ++i) {
        const int y = s.y0 + i;
        if (!writes(s, y)) break;
        for (int c = 0; c < s.C; ++c) {
          const T* vc = v + (i * s.C + c) * s.span;  // u_{t+1} at the block's pixels
          const int64_t at = image + c * s.L + y * s.W + s.x0 + threadIdx.x;
          if (u_next && (!kStar || !star_only || c == a.star)) u_next[at] = vc[threadIdx.x + s.r];
          if (rows_next) rows_next[at] = row_pass(s, taps + c * K, K, vc, OneMinusTwoU<T>{});
        }
      }
    }
  }
}

// The start of a chain: rows = the row pass of f(in), and go = in / eps where go is not
// null (the backward's: in = gz_T). By row_pass, as the iterations compute their rows.
template <typename T, typename F>
__global__ void __launch_bounds__(kMaxThreads)
    start_kernel(Dims d, const T* __restrict__ taps, int K, F f, const T* __restrict__ in,
                 T* __restrict__ rows, T* __restrict__ go, T eps) {
  T* v = shared_values<T>();
  const Segment s(d, K, 1);
  for (int64_t n = blockIdx.y; n < d.N; n += gridDim.y) {
    const int64_t image = n * d.C * d.L;
    __syncthreads();  // the previous image's values have been read
    if (s.in_image())
      for (int c = 0; c < s.C; ++c)
        v[c * s.span + threadIdx.x] = in[image + c * s.L + s.y0 * s.W + s.x];
    __syncthreads();
    if (!writes(s, s.y0)) continue;
    for (int c = 0; c < s.C; ++c) {
      const int64_t at = image + c * s.L + s.y0 * s.W + s.x0 + threadIdx.x;
      if (go) go[at] = in[at] / eps;
      rows[at] = row_pass(s, taps + c * K, K, v + c * s.span, f);
    }
  }
}

// One iteration back (std_pipeline::adjoint): thread j computes gz_t at its pixel of the
// span, class by class, from the column pass of the rows of gP_{t+1} and from u_t; then
// each of the first 128 threads adds gz_t / eps to go at its own pixel and writes the row
// pass of gP_t (and gz_t: SS-STD's star class, VP-STD's every class). The arithmetic is
// adjoint_softmax_kernel's (std_fused_cuda_tile.cu).
template <typename T, bool kStar>
__global__ void __launch_bounds__(kMaxThreads)
    adjoint_kernel(Dims d, const T* __restrict__ taps, int K, T lambda, T eps,
                   const T* __restrict__ rows, const T* __restrict__ u,
                   const T* __restrict__ star_div, int star, T* __restrict__ go,
                   T* __restrict__ rows_next, T* __restrict__ gz_out) {
  T* v = shared_values<T>();
  const Segment s(d, K, 1);
  const int y = s.y0;
  for (int64_t n = blockIdx.y; n < d.N; n += gridDim.y) {
    const int64_t image = n * d.C * d.L;
    __syncthreads();  // the previous image's values have been read
    if (s.in_image() && (rows_next || s.own())) {
      const int k = y * s.W + s.x;
      double sum = 0;  // sum_c u gu
      for (int c = 0; c < s.C; ++c) {
        const T* column = rows + image + c * s.L + s.x;
        const T* g = taps + c * K;
        T a = 0;
        for (int b = 0; b < K; ++b) {
          const int yb = y + b - s.r;
          a += g[b] * (yb >= 0 && yb < s.H ? column[yb * s.W] : T(0));
        }
        const T w = kStar && c == star ? -star_div[n * d.L + k] : T(0);
        const T gu = w - T(2) * a;
        sum += static_cast<double>(gu) * u[image + c * s.L + k];
        v[c * s.span + threadIdx.x] = gu;
      }
      for (int c = 0; c < s.C; ++c) {  // gz_t = u (gu - sum)
        T& value = v[c * s.span + threadIdx.x];
        value = static_cast<T>(u[image + c * s.L + k] * (value - sum));
      }
    }
    __syncthreads();
    if (!writes(s, y)) continue;
    for (int c = 0; c < s.C; ++c) {
      const T* vc = v + c * s.span;  // gz_t at the block's pixels
      const int64_t at = image + c * s.L + y * s.W + s.x0 + threadIdx.x;
      const T gz = vc[threadIdx.x + s.r];
      if (go) go[at] += gz / eps;
      if (gz_out && (!kStar || c == star)) gz_out[at] = gz;
      if (rows_next)
        rows_next[at] = row_pass(s, taps + c * K, K, vc, std_device::HeadGradient<T>{lambda, eps});
    }
  }
}

// VP-STD's fold (std_pipeline::vp_fold_rows): thread j computes ga at its pixel of the
// span from w and dS (std_device::vp_ga_at, as vp_fold), the block adds its own pixels' ga
// per class, then gz' = gz + ga; each of the first 128 threads adds gz' / eps to go (sets
// go to it where first) and writes the row pass of lambda (-gz' / eps).
template <typename T>
__global__ void __launch_bounds__(kMaxThreads)
    vp_fold_rows_kernel(Dims d, const T* __restrict__ taps, int K, T lambda, T eps,
                        const T* __restrict__ w, const T* __restrict__ dS,
                        const T* __restrict__ gz, T* __restrict__ go, bool first,
                        T* __restrict__ rows, double* __restrict__ ga_sums) {
  T* v = shared_values<T>();
  const Segment s(d, K, 1);
  const int y = s.y0;
  for (int64_t n = blockIdx.y; n < d.N; n += gridDim.y) {
    const int64_t image = n * d.C * d.L, pixel = image + y * s.W + s.x;  // class 0's
    __syncthreads();  // the previous image's values have been read
    if (s.in_image())
      std_device::vp_ga_at(d, w, dS, n, pixel, [&](int64_t c, int64_t, T ga) {
        v[c * s.span + threadIdx.x] = ga;
      });
    __syncthreads();
    store_shares(s, n, y, [&](int c, int j) { return double(v[c * s.span + s.r + j]); },
                 ga_sums);
    __syncthreads();  // the shares have read ga
    if (s.in_image())
      for (int c = 0; c < s.C; ++c) v[c * s.span + threadIdx.x] += gz[pixel + c * s.L];
    __syncthreads();
    if (!writes(s, y)) continue;
    for (int c = 0; c < s.C; ++c) {
      const T* vc = v + c * s.span;  // gz' at the block's pixels
      const int64_t at = image + c * s.L + y * s.W + s.x0 + threadIdx.x;
      const T g = vc[threadIdx.x + s.r] / eps;
      go[at] = first ? g : go[at] + g;
      rows[at] = row_pass(s, taps + c * K, K, vc, std_device::HeadGradient<T>{lambda, eps});
    }
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

template <typename T, int kRows, bool kStar, bool kWeights = false>
void launch_iterate(const Dims& d, const T* taps, int64_t K, const Argument<T>& a, const T* rows,
                    T* z, T* u_next, T* rows_next, bool star_only, Weights<T> weights,
                    cudaStream_t stream) {
  iterate_kernel<T, kRows, kStar, kWeights>
      <<<grid_for(d, kRows), threads_for(K), shared_bytes(d.C, K, sizeof(T), kRows), stream>>>(
          d, taps, static_cast<int>(K), a, rows, z, u_next, rows_next, star_only, weights);
  TDSEG_LAUNCH_CHECK();
}

}  // namespace

bool fits(const std_device::Dims& d, int64_t K, size_t value_bytes, int rows_per_block) {
  return (K - 1) / 2 <= kMaxRadius && d.C * d.L < (int64_t(1) << 31) &&
         shared_bytes(d.C, K, value_bytes, rows_per_block) <= kMaxShared;
}

template <typename T>
void start_rows(const Dims& d, const T* taps, int64_t K, const T* u, T* rows,
                cudaStream_t stream) {
  start_kernel<<<grid_for(d, 1), threads_for(K), shared_bytes(d.C, K, sizeof(T), 1), stream>>>(
      d, taps, static_cast<int>(K), OneMinusTwoU<T>{}, u, rows, static_cast<T*>(nullptr), T(1));
  TDSEG_LAUNCH_CHECK();
}

template <typename T>
void start_adjoint(const Dims& d, const T* taps, int64_t K, T lambda, T eps, const T* gz, T* go,
                   T* rows, cudaStream_t stream) {
  start_kernel<<<grid_for(d, 1), threads_for(K), shared_bytes(d.C, K, sizeof(T), 1), stream>>>(
      d, taps, static_cast<int>(K), std_device::HeadGradient<T>{lambda, eps}, gz, rows, go, eps);
  TDSEG_LAUNCH_CHECK();
}

template <typename T>
void adjoint(const Dims& d, const T* taps, int64_t K, T lambda, T eps, const T* rows, const T* u,
             const T* star_div, int64_t star, T* go, T* rows_next, T* gz_out,
             cudaStream_t stream) {
  const dim3 grid = grid_for(d, 1);
  const int threads = threads_for(K), k = static_cast<int>(K), c = static_cast<int>(star);
  const size_t bytes = shared_bytes(d.C, K, sizeof(T), 1);
  if (star_div)
    adjoint_kernel<T, true><<<grid, threads, bytes, stream>>>(d, taps, k, lambda, eps, rows, u,
                                                              star_div, c, go, rows_next, gz_out);
  else
    adjoint_kernel<T, false><<<grid, threads, bytes, stream>>>(d, taps, k, lambda, eps, rows, u,
                                                               star_div, c, go, rows_next, gz_out);
  TDSEG_LAUNCH_CHECK();
}

template <typename T>
void iterate(const Dims& d, const T* taps, int64_t K, const Argument<T>& a, const T* rows, T* z,
             T* u_next, T* rows_next, cudaStream_t stream, int rows_per_block, bool star_only) {
  check<ValueError>(rows_per_block == 1 || rows_per_block == 2,
                    "std (cuda): rows a block must be 1 or 2, not ", rows_per_block);
  const bool star = a.q_star != nullptr;
  if (rows_per_block == 1 && !star)
    launch_iterate<T, 1, false>(d, taps, K, a, rows, z, u_next, rows_next, false, {}, stream);
  if (rows_per_block == 1 && star)
    launch_iterate<T, 1, true>(d, taps, K, a, rows, z, u_next, rows_next, star_only, {}, stream);
  if (rows_per_block == 2 && !star)
    launch_iterate<T, 2, false>(d, taps, K, a, rows, z, u_next, rows_next, false, {}, stream);
  if (rows_per_block == 2 && star)
    launch_iterate<T, 2, true>(d, taps, K, a, rows, z, u_next, rows_next, star_only, {}, stream);
}

int64_t weight_sum_blocks(const Dims& d) { return grid_for(d, 1).x; }

template <typename T>
void weight_sums(const Dims& d, const T* taps, int64_t K, const Argument<T>& a, const T* rows,
                 double* sums, cudaStream_t stream) {
  launch_iterate<T, 1, false, true>(d, taps, K, a, rows, static_cast<T*>(nullptr),
                                    static_cast<T*>(nullptr), static_cast<T*>(nullptr), false,
                                    {sums}, stream);
}

template <typename T>
void vp_weights(const Dims& d, const T* taps, int64_t K, const Argument<T>& a, const T* rows,
                const T* gz, T* w, double* sums, cudaStream_t stream) {
  launch_iterate<T, 1, false, true>(d, taps, K, a, rows, static_cast<T*>(nullptr),
                                    static_cast<T*>(nullptr), static_cast<T*>(nullptr), false,
                                    Weights<T>{sums, w, gz}, stream);
}

template <typename T>
void vp_fold_rows(const Dims& d, const T* taps, int64_t K, T lambda, T eps, const T* w,
                  const T* dS, const T* gz, T* go, bool first, T* rows, double* ga_sums,
                  cudaStream_t stream) {
  const size_t bytes = shared_bytes(d.C, K, sizeof(T), 1);
  vp_fold_rows_kernel<<<grid_for(d, 1), threads_for(K), bytes, stream>>>(
      d, taps, static_cast<int>(K), lambda, eps, w, dS, gz, go, first, rows, ga_sums);
  TDSEG_LAUNCH_CHECK();
}

#define TDSEG_STD_PIPELINE(T)                                                                  \
  template void start_rows<T>(const Dims&, const T*, int64_t, const T*, T*, cudaStream_t);     \
  template void iterate<T>(const Dims&, const T*, int64_t, const Argument<T>&, const T*, T*, \
                           T*, T*, cudaStream_t, int, bool);                                  \
  template void start_adjoint<T>(const Dims&, const T*, int64_t, T, T, const T*, T*, T*,     \
                                 cudaStream_t);                                               \
  template void adjoint<T>(const Dims&, const T*, int64_t, T, T, const T*, const T*, const T*, \
                           int64_t, T*, T*, T*, cudaStream_t);                                \
  template void weight_sums<T>(const Dims&, const T*, int64_t, const Argument<T>&, const T*,  \
                               double*, cudaStream_t);                                        \
  template void vp_weights<T>(const Dims&, const T*, int64_t, const Argument<T>&, const T*,   \
                              const T*, T*, double*, cudaStream_t);                           \
  template void vp_fold_rows<T>(const Dims&, const T*, int64_t, T, T, const T*, const T*,     \
                                const T*, T*, bool, T*, double*, cudaStream_t);
TDSEG_STD_PIPELINE(float)
TDSEG_STD_PIPELINE(double)
#undef TDSEG_STD_PIPELINE

}  // namespace tdseg::cuda::std_pipeline
