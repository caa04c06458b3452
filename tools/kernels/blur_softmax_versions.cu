// Versions of one forward iteration of the fused STD op,
//   u_{t+1} = softmax((o - lambda k*(1 - 2 u_t)) / eps)               (eq. 7, Algorithm 1)
// each checked against the library's and timed in the same run (tools/kernels/harness.h).
//   blur_softmax_versions [N C H W [repeat]]      (default 16 21 513 513 20; float32,
//                                                  K = 7, sigma = 5, lambda = 1, eps = 0.1)
//   1  the separate passes: the blur's row and column passes (std_fused_cuda_blur.cu),
//      then argument_softmax (std_fused_cuda_softmax.cu); 28 B an element. The library's
//      forward until this session, and still VP-STD's and the edge weight's
//   2  one tile kernel: the blur in shared memory class by class, z kept in u_{t+1} until
//      the softmax (commit d5c0057's; in `tdseg bench std` on an H100 it made the STD
//      forward 27.61 ms against the passes' 22.12)
//   3  2 with the next class's tile and o loaded into registers while this class is blurred
//   4  3 with K = 7 fixed at compile time (the tap loops unrolled)
//   5  3 with an online softmax (a running max and a rescaled sum): the last pass reads z
//      once and writes u once, instead of reading twice and writing twice
//   6  the library's row pass, then one kernel for the column pass, the argument and the
//      softmax, a thread per pixel summing K rows of each class (from L1/L2): P is never
//      written, 20 B an element instead of 28
//   7  the library's two passes, then argument_softmax with the pixel's C <= 32 values of
//      z in registers: its three passes over u (write z, then e, then u) become one write
//      (C > 32: version 1). Its SASS (sm_90, cuobjdump) loads o and P one class at a
//      time, into the same two registers, each pair used before the next is issued (the
//      loop's exit at c = C stands between them): a thread has one class's loads in
//      flight at a time, where the library's kernel issues four classes' loads together
//   8  the library's one-kernel iteration (std_fused_cuda_pipeline.cu, the forward of STD
//      and SS-STD without the edge weight since this session): the column pass of rows_t
//      (the row pass of 1 - 2u_t), the argument and the softmax, then the row pass of
//      1 - 2u_{t+1}, which the next iteration reads. It reads rows_t and o and writes
//      u_{t+1} and rows_{t+1}: 16 B an element instead of 28. Timed without the row pass
//      of u_t, which in steady state is the previous iteration's; checked on u_{t+1} and
//      on rows_{t+1} against the passes' row pass of version 1's u_{t+1}
//   9  8 with two rows a block: a thread's K + 1 loads of a column serve both rows' sums
// ptxas (CUDA 13.0, sm_90): versions 2 to 5 use 48, 49, 77 and 54 registers, version 6's
// column kernel 40, version 7's softmax 55 (no stack frame: z stays in registers) against
// the library's argument_softmax_kernel's 54, versions 8 and 9 40 each (8 B of spill); no
// other spill.
// None has run on a GPU in this harness yet (`tools/gpu_check.sh build versions`).
// GB/s on the 12 B an element an iteration must move (reads o and u_t, writes u_{t+1}).
// Versions 2 to 4 and 6 to 9 compute what version 1 does, operation for operation; 5 rounds its
// sum differently. Exit 1 when a version differs from 1 by more than 1e-6 (relative to the
// largest u), 2 on bad arguments, 77 without a GPU.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/random.h"
#include "cuda/context.h"
#include "cuda/launch.h"
#include "layers/std/std_fused_cuda_blur.h"
#include "layers/std/std_fused_cuda_pipeline.h"
#include "layers/std/std_fused_cuda_softmax.h"
#include "tools/kernels/harness.h"
#include "tools/kernels/tile_blur.cuh"

namespace tdseg {
namespace {

using harness::kBlock;
using harness::kRowsPer;

struct Problem {
  int N, C, H, W, K;
  float lambda, eps;
  const float* taps;  // [C, K]
  const float* o;
  const float* u;
  float* u_next;
  float* P;     // version 1's buffers: P and the blur's rows
  float* rows;  // version 8's and 9's input: the row pass of 1 - 2u
  float* rows_next;  // version 8's and 9's second output: the row pass of 1 - 2u_next
};

// Versions 2 to 5 (see the top). z_c is written to u_next as it is computed, then the
// softmax over the pixel's classes reads it back: the thread's own writes, from L1/L2.
template <bool kPrefetch, int kK, bool kOnline>
__device__ void blur_softmax(const Problem& p) {
  extern __shared__ float smem[];
  harness::TileBlur<kK> t(p.H, p.W, p.K, smem);
  const int L = p.H * p.W;
  for (int n = blockIdx.y; n < p.N; n += gridDim.y) {
    const size_t image = size_t(n) * p.C * L;
    auto source_of = [&](int c) {  // 1 - 2u of class c
      return [&, c](int y, int x) { return 1.0f - 2.0f * p.u[image + size_t(c) * L + y * p.W + x]; };
    };
    float o_own[kRowsPer];
    auto own_values = [&](int c) {
#pragma unroll
      for (int j = 0; j < kRowsPer; ++j)
        if (t.own(j)) o_own[j] = p.o[image + size_t(c) * L + t.y(j) * p.W + t.x()];
    };
    if constexpr (kPrefetch) t.prefetch(source_of(0)), own_values(0);
    float m[kRowsPer];
    double sum[kRowsPer] = {};  // kOnline: sum_c exp(z_c - m) so far
#pragma unroll
    for (int j = 0; j < kRowsPer; ++j) m[j] = -INFINITY;
    for (int c = 0; c < p.C; ++c) {
      __syncthreads();  // the previous class's tiles have been read
      if constexpr (kPrefetch) t.store();
      else t.load(source_of(c)), own_values(c);
      float o_c[kRowsPer], P[kRowsPer];
#pragma unroll
      for (int j = 0; j < kRowsPer; ++j) o_c[j] = o_own[j];
      __syncthreads();
      if constexpr (kPrefetch)
        if (c + 1 < p.C) t.prefetch(source_of(c + 1)), own_values(c + 1);
      t.blur(p.taps + c * t.K, P);
#pragma unroll
      for (int j = 0; j < kRowsPer; ++j) {
        if (!t.own(j)) continue;
        const float num = o_c[j] - p.lambda * P[j], z = num / p.eps;
        p.u_next[image + size_t(c) * L + t.y(j) * p.W + t.x()] = z;
        if constexpr (kOnline) {
          if (z > m[j]) sum[j] = sum[j] * expf(m[j] - z), m[j] = z;
          sum[j] += expf(z - m[j]);
        } else {
          m[j] = m[j] < z ? z : m[j];
        }
      }
    }
#pragma unroll
    for (int j = 0; j < kRowsPer; ++j) {
      if (!t.own(j)) continue;
      float* u = p.u_next + image + t.y(j) * p.W + t.x();
      if constexpr (kOnline) {
        const double inv = 1.0 / sum[j];
        for (int c = 0; c < p.C; ++c) u[size_t(c) * L] = static_cast<float>(expf(u[size_t(c) * L] - m[j]) * inv);
        continue;
      }
      double s = 0;  // argument_softmax's passes: e_c kept in u, then scaled
      for (int c = 0; c < p.C; ++c) {
        const float e = expf(u[size_t(c) * L] - m[j]);
        s += e;
        u[size_t(c) * L] = e;
      }
      const double inv = 1.0 / s;
      for (int c = 0; c < p.C; ++c) u[size_t(c) * L] = static_cast<float>(u[size_t(c) * L] * inv);
    }
  }
}

// Version 6's second kernel: a thread per pixel; for each class the column pass of the
// row buffer at the pixel (rows outside the image read as 0, as in the library's tile),
// then argument_softmax's arithmetic.
__global__ void columns_softmax(Problem p) {
  const int L = p.H * p.W, r = (p.K - 1) / 2;
  for (int64_t q = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; q < int64_t(p.N) * L;
       q += int64_t(gridDim.x) * blockDim.x) {
    const int n = static_cast<int>(q / L), k = static_cast<int>(q - int64_t(n) * L);
    const int y = k / p.W, x = k - y * p.W;
    float* u = p.u_next + size_t(n) * p.C * L + k;
    float m = -INFINITY;
    for (int c = 0; c < p.C; ++c) {
      const float* rows = p.rows + (size_t(n) * p.C + c) * L + x;
      const float* g = p.taps + c * p.K;
      float a = 0;
      for (int b = 0; b < p.K; ++b) {
        const int yy = y + b - r;
        a += g[b] * (yy >= 0 && yy < p.H ? rows[yy * p.W] : 0.0f);
      }
      const float num = p.o[size_t(n) * p.C * L + size_t(c) * L + k] - p.lambda * a, z = num / p.eps;
      u[size_t(c) * L] = z;
      m = m < z ? z : m;
    }
    double s = 0;
    for (int c = 0; c < p.C; ++c) {
      const float e = expf(u[size_t(c) * L] - m);
      s += e;
      u[size_t(c) * L] = e;
    }
    const double inv = 1.0 / s;
    for (int c = 0; c < p.C; ++c) u[size_t(c) * L] = static_cast<float>(u[size_t(c) * L] * inv);
  }
}

// Version 7's softmax: argument_softmax_kernel's arithmetic (std_fused_cuda_softmax.cu)
// with z held in registers; the loops are unrolled over kMaxC so that z stays there.
constexpr int kMaxC = 32;
__global__ void softmax_in_registers(Problem p) {
  const int L = p.H * p.W;
  for (int64_t q = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; q < int64_t(p.N) * L;
       q += int64_t(gridDim.x) * blockDim.x) {
    const int n = static_cast<int>(q / L), k = static_cast<int>(q - int64_t(n) * L);
    const size_t base = size_t(n) * p.C * L + k;
    float z[kMaxC];
    float m = -INFINITY;
#pragma unroll
    for (int c = 0; c < kMaxC; ++c) {
      if (c >= p.C) break;
      const float num = p.o[base + size_t(c) * L] - p.lambda * p.P[base + size_t(c) * L];
      z[c] = num / p.eps;
      m = m < z[c] ? z[c] : m;
    }
    double s = 0;
#pragma unroll
    for (int c = 0; c < kMaxC; ++c) {
      if (c >= p.C) break;
      z[c] = expf(z[c] - m);
      s += z[c];
    }
    const double inv = 1.0 / s;
#pragma unroll
    for (int c = 0; c < kMaxC; ++c) {
      if (c >= p.C) break;
      p.u_next[base + size_t(c) * L] = static_cast<float>(z[c] * inv);
    }
  }
}

__global__ void version2(Problem p) { blur_softmax<false, 0, false>(p); }
__global__ void version3(Problem p) { blur_softmax<true, 0, false>(p); }
__global__ void version4(Problem p) { blur_softmax<true, 7, false>(p); }
__global__ void version5(Problem p) { blur_softmax<true, 0, true>(p); }

// The library's row pass of 1 - 2u into rows.
void rows_of(const Problem& p, cudaStream_t s, const float* u, float* rows) {
  const cuda::std_blur::Planes<float> planes{p.N, p.C, p.H, p.W, p.K, p.taps, nullptr, s};
  cuda::std_blur::blur_rows<float>(planes, cuda::std_blur::Source::OneMinusTwoU, u, rows, nullptr);
}

void run(int version, const Problem& p, cudaStream_t s) {
  const cuda::std_blur::Planes<float> planes{p.N, p.C, p.H, p.W, p.K, p.taps, nullptr, s};
  const cuda::std_device::Dims d{p.N, p.C, p.H, p.W, int64_t(p.H) * p.W};
  const int rows_per_block = version - 7;
  if ((version == 8 || version == 9) && cuda::std_pipeline::fits(d, p.K, sizeof(float), rows_per_block)) {
    cuda::std_device::Argument<float> a;
    a.o = p.o, a.lambda = p.lambda, a.eps = p.eps;
    cuda::std_pipeline::iterate(d, p.taps, p.K, a, p.rows, static_cast<float*>(nullptr), p.u_next,
                                p.rows_next, s, rows_per_block);
    return;
  }
  if (version == 6) {
    rows_of(p, s, p.u, p.rows);
    columns_softmax<<<cuda::blocks_for(int64_t(p.N) * p.H * p.W), kBlock, 0, s>>>(p);
    TDSEG_LAUNCH_CHECK();
    return;
  }
  if (version == 7 && p.C <= kMaxC) {
    rows_of(p, s, p.u, p.rows);
    cuda::std_blur::kernel_term_cols(planes, cuda::std_blur::Rows<float>{p.rows}, p.P);
    softmax_in_registers<<<cuda::blocks_for(int64_t(p.N) * p.H * p.W), kBlock, 0, s>>>(p);
    TDSEG_LAUNCH_CHECK();
    return;
  }
  if (version == 1 || version >= 7) {  // 7 with C > 32, 8 and 9 with too many classes
    float* rows = version >= 8 ? p.u_next : p.rows;  // 8 and 9 keep their input rows
    rows_of(p, s, p.u, rows);
    cuda::std_blur::kernel_term_cols(planes, cuda::std_blur::Rows<float>{rows}, p.P);
    cuda::std_device::Argument<float> a;
    a.o = p.o, a.P = p.P, a.lambda = p.lambda, a.eps = p.eps;
    cuda::std_device::argument_softmax(d, a, static_cast<float*>(nullptr), p.u_next, s);
    if (version >= 8) rows_of(p, s, p.u_next, p.rows_next);
    return;
  }
  const dim3 grid = harness::tile_grid(p.N, p.H, p.W);
  const size_t bytes = harness::tile_bytes(p.K);
  if (version == 2) version2<<<grid, kBlock, bytes, s>>>(p);
  if (version == 3) version3<<<grid, kBlock, bytes, s>>>(p);
  if (version == 4) version4<<<grid, kBlock, bytes, s>>>(p);
  if (version == 5) version5<<<grid, kBlock, bytes, s>>>(p);
  TDSEG_LAUNCH_CHECK();
}

int main_(int argc, char** argv) {
  harness::Setup set;
  if (const int code = harness::parse("blur_softmax_versions", argc, argv, set)) return code;
  const Shape shape = {set.N, set.C, set.H, set.W};
  const Device gpu = Device::cuda();
  Generator gen(6);
  const Tensor o = Tensor::randn(shape, gen).to(gpu), u = Tensor::uniform(shape, gen, 0, 1).to(gpu);
  const Tensor P = Tensor::empty(shape, DType::Float32, gpu), rows = Tensor::empty(shape, DType::Float32, gpu);
  const Tensor rows_next = Tensor::empty(shape, DType::Float32, gpu);
  const Tensor g = harness::gaussian_taps(set.C, set.K);
  const cudaStream_t s = cuda::stream(o);
  const double bytes = 12.0 * o.numel(), copy = harness::copy_gbps(o, set.repeat);
  harness::print_header("blur_softmax", set, copy);
  Tensor u_next, u_1, rows_1;
  Problem p{};
  return harness::check_and_time(
      set, 9, s, bytes, copy,
      [&](int v) {
        u_next = Tensor::empty(shape, DType::Float32, gpu);
        p = Problem{set.N, set.C, set.H, set.W, set.K, 1.0f, 0.1f, cuda::ptr<float>(g),
                    cuda::ptr<float>(o), cuda::ptr<float>(u), cuda::ptr<float>(u_next),
                    cuda::ptr<float>(P), cuda::ptr<float>(rows), cuda::ptr<float>(rows_next)};
        if (v >= 8) rows_of(p, s, p.u, p.rows);  // in steady state, the previous iteration's
      },
      [&](int v) { run(v, p, s); },
      [&](int v) {
        if (v == 1) {
          u_1 = u_next, rows_1 = Tensor::empty(shape, DType::Float32, gpu);
          rows_of(p, s, cuda::ptr<float>(u_1), cuda::ptr<float>(rows_1));
          return 0.0;
        }
        const double du = harness::relative_difference(u_next, u_1);
        return v < 8 ? du : std::max(du, harness::relative_difference(rows_next, rows_1));
      });
}

}  // namespace
}  // namespace tdseg

int main(int argc, char** argv) {
  return tdseg::harness::main("blur_softmax_versions", argc, argv, tdseg::main_);
}
