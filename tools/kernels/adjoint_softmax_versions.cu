// Versions of the fused STD backward's tile kernel (layers/std/std_fused_cuda_tile.cu),
// each checked against it and timed in the same run: a version is a short
// kernel, the harness runs them all.
//   adjoint_softmax_versions [N C H W [repeat]]     (default 16 21 513 513 20; float32,
//                                                     K = 7, sigma = 5, lambda = 1, eps = 0.1)
//   1  the tile kernel (std_tile::adjoint_softmax), the library's for VP-STD, and for STD
//      and SS-STD until this session: 64-bit indices; on an H100, 64 registers a thread,
//      so 50% occupancy and 25% of the DRAM bandwidth (docs/PERFORMANCE.md, the profile)
//   2  32-bit offsets inside a plane, at most 32 registers (8 blocks of 256 an SM)
//   3  2, with the next class's tile and the thread's own values loaded into registers
//      while this class is blurred, so that the loads of one class overlap the arithmetic
//      of the one before; at most 48 registers (5 blocks an SM)
//   4  3 with as many registers as it likes (64: 4 blocks an SM), the prefetch alone
//   5  4 with K = 7 known at compile time (the tap loops unrolled), at most 64 registers
//   6  the library's one-kernel iteration back (std_fused_cuda_pipeline.cu; STD's and
//      SS-STD's since this session): no tile and no barrier per class. Its input is the
//      row pass of gP_{t+1} (where the tile kernel reads gz_{t+1}), and it writes the row
//      pass of gP_t for the next iteration, having added gz_t / eps to go at once (the
//      tile kernel adds gz_{t+1} / eps at the start of the next). go so receives the same
//      terms in the same order, and the kernel reads the rows of gP_{t+1}, u_t, go and
//      writes go and the rows of gP_t: 20 B an element, as the tile kernel. A block of
//      160 threads owns 128 pixels of a row of one image. Checked on go against version
//      1's go + gz_t / eps, and on its rows against the passes' row pass of version 1's gP_t
// ptxas (CUDA 13.0, sm_90, -Xptxas -v) gives: version 1 64 registers, no spill; 2 32
// registers, 96 B of spill loads; 3 48 and 8 B; 4 61, none; 5 64 and 36 B; 6 39, none.
// None has run on a GPU yet: `tools/gpu_check.sh build versions` times them there.
// Each version computes what version 1 does, operation for operation. The table: median
// ms, GB/s on the kernel's 20 B per element (reads gz_{t+1}, u_t, go; writes go, gz_t),
// the fraction of a device-to-device copy timed in the same run, and the largest
// difference from version 1 over the largest value of go and gz_t. Exit 1 when a version
// differs by more than 1e-6, 2 on bad arguments, 77 without a GPU.
#include <algorithm>
#include <cstdio>

#include "core/random.h"
#include "cuda/context.h"
#include "cuda/launch.h"
#include "layers/std/std_fused_cuda_blur.h"
#include "layers/std/std_fused_cuda_pipeline.h"
#include "layers/std/std_fused_cuda_tile.h"
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
  const float* gz;
  const float* u;
  float* go;
  float* gz_out;
  const float* rows_in;  // version 6: the row pass of gP_{t+1}
  float* rows_out;       //            and of gP_t
};

// Versions 2 to 5. kPrefetch: load class c + 1 while class c is blurred (needs r <= 3).
// kK: the number of taps, fixed at compile time (the tap loops unrolled), or 0 for p.K.
template <bool kPrefetch, int kK>
__device__ void adjoint(const Problem& p) {
  extern __shared__ float smem[];
  harness::TileBlur<kK> t(p.H, p.W, p.K, smem);
  const int L = p.H * p.W;
  for (int n = blockIdx.y; n < p.N; n += gridDim.y) {
    const size_t image = size_t(n) * p.C * L;
    // The tile of class c: gP = lambda (-gz / eps), as the library's kernel loads it.
    auto head_of = [&](int c) {
      return [&, c](int y, int x) {
        const float gp = -p.gz[image + size_t(c) * L + y * p.W + x] / p.eps;
        return gp * p.lambda;
      };
    };
    float gz_own[kRowsPer], u_own[kRowsPer], go_own[kRowsPer];
    auto own_values = [&](int c) {
#pragma unroll
      for (int j = 0; j < kRowsPer; ++j) {
        if (!t.own(j)) continue;
        const size_t i = image + size_t(c) * L + t.y(j) * p.W + t.x();
        gz_own[j] = p.gz[i], u_own[j] = p.u[i], go_own[j] = p.go[i];
      }
    };
    if constexpr (kPrefetch) t.prefetch(head_of(0)), own_values(0);
    double s[kRowsPer] = {};
    for (int c = 0; c < p.C; ++c) {
      __syncthreads();  // the previous class's tiles have been read
      if constexpr (kPrefetch) t.store();
      else t.load(head_of(c)), own_values(c);
      float gz_c[kRowsPer], u_c[kRowsPer], go_c[kRowsPer], a[kRowsPer];
#pragma unroll
      for (int j = 0; j < kRowsPer; ++j) gz_c[j] = gz_own[j], u_c[j] = u_own[j], go_c[j] = go_own[j];
      __syncthreads();
      if constexpr (kPrefetch)
        if (c + 1 < p.C) t.prefetch(head_of(c + 1)), own_values(c + 1);
      t.blur(p.taps + c * t.K, a);
#pragma unroll
      for (int j = 0; j < kRowsPer; ++j) {
        if (!t.own(j)) continue;
        const size_t i = image + size_t(c) * L + t.y(j) * p.W + t.x();
        p.go[i] = go_c[j] + gz_c[j] / p.eps;
        const float gu = 0.0f - 2.0f * a[j];
        s[j] += static_cast<double>(gu) * u_c[j];
        p.gz_out[i] = gu;
      }
    }
#pragma unroll
    for (int j = 0; j < kRowsPer; ++j) {
      if (!t.own(j)) continue;
      const size_t base = image + t.y(j) * p.W + t.x();
#pragma unroll 4
      for (int c = 0; c < p.C; ++c) {
        const size_t i = base + size_t(c) * L;
        p.gz_out[i] = static_cast<float>(p.u[i] * (p.gz_out[i] - s[j]));
      }
    }
  }
}

__global__ void __launch_bounds__(kBlock, 8) version2(Problem p) { adjoint<false, 0>(p); }
__global__ void __launch_bounds__(kBlock, 5) version3(Problem p) { adjoint<true, 0>(p); }
__global__ void version4(Problem p) { adjoint<true, 0>(p); }
__global__ void __launch_bounds__(kBlock, 4) version5(Problem p) { adjoint<true, 7>(p); }

// The head's terms of each value g: go_out = go + g / eps and gP = lambda (-g / eps), as
// the library's kernels compute them; version 6's input and its check.
__global__ void head_terms(Problem p, int64_t n, const float* g, const float* go, float* go_out,
                           float* gP) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    go_out[i] = go[i] + g[i] / p.eps;
    const float gp = -g[i] / p.eps;
    gP[i] = gp * p.lambda;
  }
}

// go_out = go + g / eps, and rows = the library's row pass of gP = lambda (-g / eps).
void head_and_rows(const Problem& p, cudaStream_t s, const float* g, const float* go,
                   float* go_out, float* rows, float* scratch) {
  const int64_t n = int64_t(p.N) * p.C * p.H * p.W;
  head_terms<<<cuda::blocks_for(n), kBlock, 0, s>>>(p, n, g, go, go_out, scratch);
  TDSEG_LAUNCH_CHECK();
  const cuda::std_blur::Planes<float> planes{p.N, p.C, p.H, p.W, p.K, p.taps, nullptr, s};
  cuda::std_blur::blur_rows<float>(planes, cuda::std_blur::Source::Identity, scratch, rows, nullptr);
}

cuda::std_device::Dims dims_of(const Problem& p) { return {p.N, p.C, p.H, p.W, int64_t(p.H) * p.W}; }
bool version6_fits(const Problem& p) { return cuda::std_pipeline::fits(dims_of(p), p.K, sizeof(float)); }

void run(int version, const Problem& p, cudaStream_t s) {
  if (version == 6 && version6_fits(p)) {
    cuda::std_pipeline::adjoint<float>(dims_of(p), p.taps, p.K, p.lambda, p.eps, p.rows_in, p.u,
                                       nullptr, 0, p.go, p.rows_out, nullptr, s);
    return;
  }
  if (version == 1 || version == 6) {  // 6 with too many classes: 1, then its outputs
    cuda::std_tile::adjoint_softmax<float>(dims_of(p), p.taps, p.K, p.lambda, p.eps, p.gz, p.u, nullptr, 0,
                                           p.go, p.gz_out, s);
    if (version == 6) head_and_rows(p, s, p.gz_out, p.go, p.go, p.rows_out, p.gz_out);
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
  if (const int code = harness::parse("adjoint_softmax_versions", argc, argv, set)) return code;
  const Shape shape = {set.N, set.C, set.H, set.W};
  const Device gpu = Device::cuda();
  Generator gen(5);
  const Tensor gz = Tensor::randn(shape, gen).to(gpu), u = Tensor::uniform(shape, gen, 0, 1).to(gpu);
  const Tensor go0 = Tensor::randn(shape, gen).to(gpu);
  const Tensor g = harness::gaussian_taps(set.C, set.K);
  const cudaStream_t s = cuda::stream(gz);
  const double bytes = 20.0 * gz.numel(), copy = harness::copy_gbps(gz, set.repeat);
  harness::print_header("adjoint_softmax", set, copy);
  const Tensor rows_in = Tensor::empty(shape, DType::Float32, gpu);
  const Tensor rows_out = Tensor::empty(shape, DType::Float32, gpu);
  Tensor go, out, go_1, out_1, go_6, rows_6;
  Problem p{};
  return harness::check_and_time(
      set, 6, s, bytes, copy,
      [&](int v) {  // go accumulates: each version starts from go0
        go = go0.clone(), out = Tensor::empty(shape, DType::Float32, gpu);
        p = Problem{set.N, set.C, set.H, set.W, set.K, 1.0f, 0.1f, cuda::ptr<float>(g),
                    cuda::ptr<float>(gz), cuda::ptr<float>(u), cuda::ptr<float>(go),
                    cuda::ptr<float>(out), cuda::ptr<float>(rows_in), cuda::ptr<float>(rows_out)};
        // Version 6 starts where the previous iteration's left off: gz_{t+1} / eps in go.
        if (v == 6 && version6_fits(p)) head_and_rows(p, s, p.gz, p.go, p.go, cuda::ptr<float>(rows_in), p.gz_out);
      },
      [&](int v) { run(v, p, s); },
      [&](int v) {
        if (v == 1) {
          go_1 = go.clone(), out_1 = out, go_6 = go.clone(), rows_6 = Tensor::empty(shape, DType::Float32, gpu);
          const Tensor scratch = Tensor::empty(shape, DType::Float32, gpu);
          head_and_rows(p, s, cuda::ptr<float>(out_1), cuda::ptr<float>(go_1), cuda::ptr<float>(go_6),
                        cuda::ptr<float>(rows_6), cuda::ptr<float>(scratch));
          return 0.0;
        }
        if (v == 6)
          return std::max(harness::relative_difference(go, go_6),
                          harness::relative_difference(rows_out, rows_6));
        return std::max(harness::relative_difference(go, go_1),
                        harness::relative_difference(out, out_1));
      });
}

}  // namespace
}  // namespace tdseg

int main(int argc, char** argv) {
  return tdseg::harness::main("adjoint_softmax_versions", argc, argv, tdseg::main_);
}
