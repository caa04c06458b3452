// Versions of the fused STD backward's tile kernel (layers/std/std_fused_cuda_tile.cu),
// each checked against the library's and timed in the same run: a version is a short
// kernel, the harness runs them all.
//   adjoint_softmax_versions [N C H W [repeat]]     (default 16 21 513 513 20; float32,
//                                                     K = 7, sigma = 5, lambda = 1, eps = 0.1)
//   1  the library's kernel (std_tile::adjoint_softmax): 64-bit indices; on an H100, 64
//      registers a thread, so 50% occupancy and 25% of the DRAM bandwidth
//      (docs/PERFORMANCE.md, the profile)
//   2  32-bit offsets inside a plane, at most 32 registers (8 blocks of 256 an SM)
//   3  2, with the next class's tile and the thread's own values loaded into registers
//      while this class is blurred, so that the loads of one class overlap the arithmetic
//      of the one before; at most 48 registers (5 blocks an SM)
//   4  3 with as many registers as it likes (64: 4 blocks an SM), the prefetch alone
//   5  4 with K = 7 known at compile time (the tap loops unrolled), at most 64 registers
// ptxas (CUDA 13.0, sm_90, -Xptxas -v) gives: version 1 64 registers, no spill; 2 32
// registers, 88 B of spill loads; 3 48 and 32 B; 4 64, none; 5 64 and 64 B. None has run
// on a GPU yet: `tools/gpu_check.sh build versions` times them there.
// Each version computes what version 1 does, operation for operation. The table: median
// ms, GB/s on the kernel's 20 B per element (reads gz_{t+1}, u_t, go; writes go, gz_t),
// the fraction of a device-to-device copy timed in the same run, and the largest
// difference from version 1 over the largest value of go and gz_t. Exit 1 when a version
// differs by more than 1e-6, 2 on bad arguments, 77 without a GPU.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/random.h"
#include "cuda/context.h"
#include "cuda/device.h"
#include "cuda/launch.h"
#include "cuda/stream.h"
#include "layers/std/gaussian_blur.h"
#include "layers/std/std_fused_cuda_tile.h"

namespace tdseg {
namespace {

constexpr int kTx = 32, kTy = 8, kBlock = kTx * kTy, kRowsPer = 2;
constexpr int kTileW = kTx, kTileH = kTy * kRowsPer;
constexpr int kLoads = 4;  // tile values a thread loads for r <= 3: 22 x 38 <= 4 x 256

struct Problem {
  int N, C, H, W, K;
  float lambda, eps;
  const float* taps;  // [C, K]
  const float* gz;
  const float* u;
  float* go;
  float* gz_out;
};

// Versions 2 to 5. kPrefetch: load class c + 1 while class c is blurred (needs r <= 3).
// kK: the number of taps, fixed at compile time (the tap loops unrolled), or 0 for p.K.
template <bool kPrefetch, int kK>
__device__ void adjoint(const Problem& p) {
  extern __shared__ float smem[];
  const int K = kK > 0 ? kK : p.K;
  const int r = (K - 1) / 2, pitch = kTileW + 2 * r, rows_h = kTileH + 2 * r, count = rows_h * pitch;
  float* in = smem;
  float* rows = smem + count;
  const int tiles_x = (p.W + kTileW - 1) / kTileW;
  const int x0 = blockIdx.x % tiles_x * kTileW, y0 = blockIdx.x / tiles_x * kTileH;
  const int tx = threadIdx.x % kTx, ty = threadIdx.x / kTx, x = x0 + tx, L = p.H * p.W;
  for (int n = blockIdx.y; n < p.N; n += gridDim.y) {
    const size_t image = size_t(n) * p.C * L;
    // The tile value at idx of class c: gP = lambda (-gz / eps), 0 outside the image.
    auto tile_value = [&](int c, int idx) {
      const int j = idx / pitch, y = y0 - r + j, xx = x0 - r + (idx - j * pitch);
      if (y < 0 || y >= p.H || xx < 0 || xx >= p.W) return 0.0f;
      const float gp = -p.gz[image + size_t(c) * L + y * p.W + xx] / p.eps;
      return gp * p.lambda;
    };
    float next[kLoads], gz_own[kRowsPer], u_own[kRowsPer], go_own[kRowsPer];
    auto own_values = [&](int c) {
#pragma unroll
      for (int j = 0; j < kRowsPer; ++j) {
        const int y = y0 + ty + kTy * j;
        if (x >= p.W || y >= p.H) continue;
        const size_t i = image + size_t(c) * L + y * p.W + x;
        gz_own[j] = p.gz[i], u_own[j] = p.u[i], go_own[j] = p.go[i];
      }
    };
    auto prefetch = [&](int c) {
#pragma unroll
      for (int m = 0; m < kLoads; ++m) {
        const int idx = threadIdx.x + kBlock * m;
        if (idx < count) next[m] = tile_value(c, idx);
      }
    };
    if constexpr (kPrefetch) prefetch(0), own_values(0);
    double s[kRowsPer] = {};
    for (int c = 0; c < p.C; ++c) {
      const float* g = p.taps + c * K;
      __syncthreads();  // the previous class's tiles have been read
      if constexpr (kPrefetch) {
#pragma unroll
        for (int m = 0; m < kLoads; ++m) {
          const int idx = threadIdx.x + kBlock * m;
          if (idx < count) in[idx] = next[m];
        }
      } else {
        for (int idx = threadIdx.x; idx < count; idx += kBlock) in[idx] = tile_value(c, idx);
        own_values(c);
      }
      float gz_c[kRowsPer], u_c[kRowsPer], go_c[kRowsPer];
#pragma unroll
      for (int j = 0; j < kRowsPer; ++j) gz_c[j] = gz_own[j], u_c[j] = u_own[j], go_c[j] = go_own[j];
      __syncthreads();
      if constexpr (kPrefetch)
        if (c + 1 < p.C) prefetch(c + 1), own_values(c + 1);
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
        const int y = y0 + ty + kTy * j;
        const float* window = rows + (ty + kTy * j) * kTileW + tx;
        float a = 0;
#pragma unroll
        for (int b = 0; b < K; ++b) a += g[b] * window[b * kTileW];
        if (x >= p.W || y >= p.H) continue;
        const size_t i = image + size_t(c) * L + y * p.W + x;
        p.go[i] = go_c[j] + gz_c[j] / p.eps;
        const float gu = 0.0f - 2.0f * a;
        s[j] += static_cast<double>(gu) * u_c[j];
        p.gz_out[i] = gu;
      }
    }
#pragma unroll
    for (int j = 0; j < kRowsPer; ++j) {
      const int y = y0 + ty + kTy * j;
      if (x >= p.W || y >= p.H) continue;
      const size_t base = image + y * p.W + x;
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

void run(int version, const Problem& p, cudaStream_t s) {
  if (version == 1) {
    const cuda::std_device::Dims d{p.N, p.C, p.H, p.W, int64_t(p.H) * p.W};
    cuda::std_tile::adjoint_softmax<float>(d, p.taps, p.K, p.lambda, p.eps, p.gz, p.u, nullptr, 0,
                                           p.go, p.gz_out, s);
    return;
  }
  const int r = (p.K - 1) / 2;
  const dim3 grid((p.W + kTileW - 1) / kTileW * ((p.H + kTileH - 1) / kTileH), std::min(p.N, 65535));
  const size_t bytes = size_t(kTileH + 2 * r) * (2 * kTileW + 2 * r) * sizeof(float);
  if (version == 2) version2<<<grid, kBlock, bytes, s>>>(p);
  if (version == 3) version3<<<grid, kBlock, bytes, s>>>(p);
  if (version == 4) version4<<<grid, kBlock, bytes, s>>>(p);
  if (version == 5) version5<<<grid, kBlock, bytes, s>>>(p);
  TDSEG_LAUNCH_CHECK();
}

// Median event-timed milliseconds of fn() over `repeat` runs after a warm-up.
template <typename F>
double median_ms(int repeat, cudaStream_t s, F fn) {
  std::vector<double> t;
  cuda::Event start, stop;
  for (int k = 0; k <= repeat; ++k) {
    start.record(s);
    fn();
    stop.record(s);
    stop.synchronize();
    if (k > 0) t.push_back(stop.since(start));
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// max |a - b| / max |b| over two device tensors of float32.
double relative_difference(const Tensor& a, const Tensor& b) {
  const Tensor ha = host_copy(a), hb = host_copy(b);
  double diff = 0, scale = 0;
  for (int64_t k = 0; k < hb.numel(); ++k) {
    diff = std::max(diff, std::abs(double(ha.data<float>()[k]) - hb.data<float>()[k]));
    scale = std::max(scale, std::abs(double(hb.data<float>()[k])));
  }
  return diff / scale;
}

int main_(int argc, char** argv) {
  std::vector<long> a = {16, 21, 513, 513, 20};
  if (argc != 1 && argc != 5 && argc != 6) {
    std::fprintf(stderr, "adjoint_softmax_versions: expected N C H W [repeat], got %d arguments\n", argc - 1);
    return 2;
  }
  for (int k = 1; k < argc; ++k) {
    char* end = nullptr;
    a[k - 1] = std::strtol(argv[k], &end, 10);
    if (*end != '\0' || a[k - 1] < 1 || a[k - 1] > 100000) {
      std::fprintf(stderr, "adjoint_softmax_versions: argument %d must be an integer in [1, 100000], got '%s'\n", k, argv[k]);
      return 2;
    }
  }
  const cuda::Availability devices = cuda::query_devices();
  if (devices.devices.empty()) {
    std::printf("adjoint_softmax_versions: skipped, no GPU (%s)\n", devices.reason.c_str());
    return 77;
  }
  const int N = a[0], C = a[1], H = a[2], W = a[3], repeat = a[4], K = 7;
  const Shape shape = {N, C, H, W};
  const Device gpu = Device::cuda();
  Generator gen(5);
  const Tensor gz = Tensor::randn(shape, gen).to(gpu), u = Tensor::uniform(shape, gen, 0, 1).to(gpu);
  const Tensor go0 = Tensor::randn(shape, gen).to(gpu);
  const GaussianTaps taps(std::vector<double>(C, 5.0), K);
  const Tensor g = Tensor::from_vector<double>({C, K}, taps.g).to(DType::Float32).to(gpu);
  const cudaStream_t s = cuda::stream(gz);
  const double elements = double(N) * C * H * W, bytes = 20 * elements;

  const Tensor copy = Tensor::empty(shape, DType::Float32, gpu);
  const double copy_ms = median_ms(repeat, s, [&] {
    TDSEG_CUDA_CHECK(cudaMemcpyAsync(copy.data_ptr(), gz.data_ptr(), 4 * size_t(elements), cudaMemcpyDeviceToDevice, s));
  });
  const double copy_gbps = 8 * elements / (copy_ms * 1e6);
  std::printf("adjoint_softmax versions on %s, [%d, %d, %d, %d] float32, K = %d, median of %d; copy %.1f GB/s\n",
              devices.devices.empty() ? "?" : devices.devices[0].name.c_str(), N, C, H, W, K, repeat, copy_gbps);
  std::printf("%-8s %9s %9s %6s %12s\n", "version", "ms", "GB/s", "/copy", "diff from 1");
  Tensor go_1, out_1;
  int status = 0;
  for (int version = 1; version <= 5; ++version) {
    const Tensor go = go0.clone(), out = Tensor::empty(shape, DType::Float32, gpu);
    Problem p{N, C, H, W, K, 1.0f, 0.1f, cuda::ptr<float>(g), cuda::ptr<float>(gz), cuda::ptr<float>(u),
              cuda::ptr<float>(go), cuda::ptr<float>(out)};
    run(version, p, s);  // once from go0, to check
    double diff = 0;
    if (version == 1) {
      go_1 = go.clone(), out_1 = out.clone();
    } else {
      diff = std::max(relative_difference(go, go_1), relative_difference(out, out_1));
      if (diff > 1e-6) status = 1;
    }
    const double ms = median_ms(repeat, s, [&] { run(version, p, s); });
    std::printf("%-8d %9.3f %9.0f %6.2f %12.2e\n", version, ms, bytes / (ms * 1e6), bytes / (ms * 1e6) / copy_gbps, diff);
  }
  return status;
}

}  // namespace
}  // namespace tdseg

int main(int argc, char** argv) {
  try {
    return tdseg::main_(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "adjoint_softmax_versions: %s\n", e.what());
    return 2;
  }
}
