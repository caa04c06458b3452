// Batch norm kernels (the maths is in core/ops/batch_norm.h). Element j of channel c's
// M = N*L values (L = H*W) is x[(n*C + c)*L + i] with n = j / L, i = j % L. The per-channel
// sums are split into P parts of consecutive j, one block each (grid P x C), so that a
// layer with few channels still fills the device (one block per channel would leave 100 of
// an H100's 132 SMs idle at C = 32); a second kernel adds each channel's P partial sums in
// order. All sums are in double and in a fixed order (no atomics): results are the same
// from run to run. The elementwise passes run over planes (cuda/plane_grid.cuh), so each
// block finds its channel once, with no division per element.
//
// Bytes per element in float32, the floor being 8 forward (read x, write y) and 12
// backward (read x and dy, write dx): training forward 12 (x read for the statistics, then
// for y), backward 20 (x and dy read for the sums, then for dx), 4 more each with the
// fused ReLU's y; evaluation 8 and 12.
//
// In training, where a channel's M values fit in one block's registers (M <= 18432:
// Xception-65's 33 x 33 layers at batch 16 are 17424), the channel stays on chip between
// the two passes instead (BatchNormKernel::OnChip, the default): one block a channel reads
// x once, sums it there and writes y, the floor's 8 B; back, reads x and dy once and
// writes dx, 12 B. Elsewhere, or with BatchNormKernel::TwoPass, the two passes.
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "core/ops/functors.h"
#include "cuda/block_reduce.cuh"
#include "cuda/context.h"
#include "cuda/launch.h"
#include "cuda/ops/batch_norm.h"
#include "cuda/plane_grid.cuh"

namespace tdseg::cuda {

namespace {

constexpr int kChannelThreads = 512;  // per-channel partial sums: one block per part

// How many parts each channel's M values are summed in: about four blocks per SM in all,
// each part at least eight values per thread.
int64_t channel_parts(int64_t C, int64_t M, int sm_count) {
  const int64_t want = (4 * int64_t(sm_count) + C - 1) / C;
  const int64_t most = std::max<int64_t>(1, M / (8 * kChannelThreads));
  return std::max<int64_t>(1, std::min(want, most));
}

// The values of part blockIdx.x of channel blockIdx.y, this thread's share: calls
// fn(k) for each index k into the NCHW tensor, walking (n, i) without divisions.
template <typename Fn>
__device__ inline void for_part(int64_t C, int64_t L, int64_t M, Fn&& fn) {
  const int64_t c = blockIdx.y, parts = gridDim.x, part = blockIdx.x;
  const int64_t begin = M * part / parts, end = M * (part + 1) / parts;
  int64_t j = begin + threadIdx.x;
  if (j >= end) return;
  int64_t n = j / L, i = j % L;
  for (; j < end; j += blockDim.x) {
    fn((n * C + c) * L + i);
    i += blockDim.x;
    while (i >= L) {
      i -= L;
      ++n;
    }
  }
}

// The training statistics in one pass over x: partial[c * P + p] = sum (x - k) and
// partial[(C + c) * P + p] = sum (x - k)^2 over the part, k = x[n = 0, c, i = 0]. The
// shift by one of the channel's own values keeps the squares of the order of the spread,
// so var = sum (x - k)^2 / M - (mean - k)^2 loses no digits where |mean| >> std (the
// CPU's two passes need no shift). Reads M * sizeof(T) bytes per channel.
template <typename T>
__global__ void stats_partials(int64_t C, int64_t L, int64_t M, const T* __restrict__ x,
                               double* __restrict__ partial) {
  const int64_t c = blockIdx.y;
  const double k = x[c * L];
  double s = 0, s2 = 0;
  for_part(C, L, M, [&](int64_t e) {
    const double d = x[e] - k;
    s += d;
    s2 += d * d;
  });
  s = block_sum(s);
  s2 = block_sum(s2);
  if (threadIdx.x != 0) return;
  partial[c * gridDim.x + blockIdx.x] = s;
  partial[(C + c) * gridDim.x + blockIdx.x] = s2;
}

// The sum of channel c's P partial sums, in order.
__device__ inline double channel_total(const double* partial, int64_t c, int64_t parts) {
  double s = 0;
  for (int64_t p = 0; p < parts; ++p) s += partial[c * parts + p];
  return s;
}

// Channel c's batch statistics: mean and invstd = 1 / sqrt(var + eps), and the running
// statistics, when defined, moved towards them (the variance unbiased, M / (M - 1)).
template <typename T>
__device__ inline void store_statistics(int64_t c, double mu, double var, int64_t M,
                                        double momentum, double eps, T* running_mean,
                                        T* running_var, double* mean, double* invstd) {
  mean[c] = mu;
  invstd[c] = 1.0 / sqrt(var + eps);
  if (running_mean == nullptr) return;
  running_mean[c] = static_cast<T>((1 - momentum) * running_mean[c] + momentum * mu);
  running_var[c] = static_cast<T>((1 - momentum) * running_var[c] +
                                  momentum * var * double(M) / double(M - 1));
}

// mean and var = sum (x - mean)^2 / M (biased, as the CPU) from the shifted sums; the
// running statistics move towards the batch with the unbiased var * M / (M - 1).
template <typename T>
__global__ void finish_stats(int64_t C, int64_t L, int64_t parts, int64_t M,
                             const T* __restrict__ x, const double* __restrict__ partial,
                             double momentum, double eps, T* running_mean, T* running_var,
                             double* __restrict__ mean, double* __restrict__ invstd) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < C;
       c += int64_t(gridDim.x) * blockDim.x) {
    const double d = channel_total(partial, c, parts) / M;  // mean - k
    const double var = max(0.0, channel_total(partial, C + c, parts) / M - d * d);
    store_statistics(c, x[c * L] + d, var, M, momentum, eps, running_mean, running_var, mean,
                     invstd);
  }
}

// Evaluation statistics: mean = running_mean, invstd = 1 / sqrt(running_var + eps).
// One thread per channel.
template <typename T>
__global__ void running_stats(int64_t C, const T* __restrict__ running_mean,
                              const T* __restrict__ running_var, double eps,
                              double* __restrict__ mean, double* __restrict__ invstd) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < C;
       c += int64_t(gridDim.x) * blockDim.x) {
    mean[c] = running_mean[c];
    invstd[c] = 1.0 / sqrt(double(running_var[c]) + eps);
  }
}

// y = a * x + b with a = weight * invstd and b = bias - a * mean in double (the CPU's
// order), cast to T, then ReLU when fused. Reads and writes sizeof(T) bytes per element.
template <typename T, bool kRelu>
__global__ void batch_norm_apply(int64_t C, int64_t L, const T* __restrict__ x,
                                 const T* __restrict__ weight, const T* __restrict__ bias,
                                 const double* __restrict__ mean,
                                 const double* __restrict__ invstd, T* __restrict__ y) {
  const int64_t plane = blockIdx.x, c = plane % C;
  const double a = weight[c] * invstd[c];
  const double b = bias[c] - a * mean[c];
  const T* xp = x + plane * L;
  T* yp = y + plane * L;
  for_plane(L, [&](int64_t i) {
    const T v = static_cast<T>(a * xp[i] + b);
    yp[i] = kRelu ? ops::fn::Relu{}(v) : v;
  });
}

// dy, masked by the fused ReLU's output (dy where y > 0) when there is one.
template <typename T, bool kRelu>
__device__ inline T masked(const T* dy, const T* y, int64_t i) {
  return kRelu ? ops::fn::ReluBackward{}(dy[i], y[i]) : dy[i];
}

// The backward's per-channel sums over part blockIdx.x of channel blockIdx.y, in double:
//   partial[c * P + p] = sum g (-> dbias),  partial[(C + c) * P + p] = sum g * xhat (-> dweight),
// g the (masked) dy and xhat = (x - mean) * invstd. Reads 2 (3 with ReLU) * M * sizeof(T)
// bytes per channel.
template <typename T, bool kRelu>
__global__ void backward_partials(int64_t C, int64_t L, int64_t M, const T* __restrict__ x,
                                  const T* __restrict__ dy, const T* __restrict__ y,
                                  const double* __restrict__ mean,
                                  const double* __restrict__ invstd, double* __restrict__ partial) {
  const int64_t c = blockIdx.y;
  const double mu = mean[c], is = invstd[c];
  double s = 0, sx = 0;
  for_part(C, L, M, [&](int64_t k) {
    const T g = masked<T, kRelu>(dy, y, k);
    s += g;
    sx += g * (x[k] - mu) * is;
  });
  s = block_sum(s);
  sx = block_sum(sx);
  if (threadIdx.x != 0) return;
  partial[c * gridDim.x + blockIdx.x] = s;
  partial[(C + c) * gridDim.x + blockIdx.x] = sx;
}

// sums[c] = sum g, sums[C + c] = sum g xhat from the partials; dbias and dweight when wanted.
template <typename T>
__global__ void finish_backward_sums(int64_t C, int64_t parts, const double* __restrict__ partial,
                                     double* __restrict__ sums, T* dweight, T* dbias) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < C;
       c += int64_t(gridDim.x) * blockDim.x) {
    const double s = channel_total(partial, c, parts), sx = channel_total(partial, C + c, parts);
    sums[c] = s;
    sums[C + c] = sx;
    if (dbias != nullptr) dbias[c] = static_cast<T>(s);
    if (dweight != nullptr) dweight[c] = static_cast<T>(sx);
  }
}

// dx = k / M * (M * g - sum g - xhat * sum g xhat)   (training, batch statistics)
// dx = k * g                                          (evaluation), k = weight * invstd.
// Reads x (training only), dy (and y) and writes dx: 3 to 4 * sizeof(T) bytes per element.
template <typename T, bool kRelu>
__global__ void batch_norm_dx(int64_t C, int64_t L, double M, bool training,
                              const T* __restrict__ x, const T* __restrict__ dy,
                              const T* __restrict__ y, const T* __restrict__ weight,
                              const double* __restrict__ mean,
                              const double* __restrict__ invstd,
                              const double* __restrict__ sums, T* __restrict__ dx) {
  const int64_t plane = blockIdx.x, c = plane % C, base = plane * L;
  const double mu = mean[c], is = invstd[c], k = weight[c] * is;
  const double sg = sums[c], sgx = sums[C + c];
  for_plane(L, [&](int64_t i) {
    const int64_t e = base + i;
    const T g = masked<T, kRelu>(dy, y, e);
    if (training) {
      const double xhat = (x[e] - mu) * is;
      dx[e] = static_cast<T>(k / M * (M * g - sg - xhat * sgx));
    } else {
      dx[e] = static_cast<T>(k * g);
    }
  });
}

// ---- A channel on chip ---------------------------------------------------------------
// Block c holds channel c: thread t its values j = t, t + B, ..., at most V of them, in
// registers (B threads a block). Sums in double, in the block's fixed order. The backward
// holds two arrays (x and dy), so it runs half the threads with twice the values: both
// hold up to 18432 values a channel. ptxas (sm_90, float): 64 registers forward at V = 18
// with 8 B of spill; 128 back at V = 36.
template <int B, int V0, int V1>
struct OnChip {
  static constexpr int kThreads = B, kSmall = V0, kLarge = V1;
};
using OnChipForward = OnChip<1024, 8, 18>;
using OnChipBackward = OnChip<512, 16, 36>;
static_assert(OnChipForward::kThreads * OnChipForward::kLarge == kBatchNormOnChipValues &&
              OnChipBackward::kThreads * OnChipBackward::kLarge == kBatchNormOnChipValues);

// Calls fn(k, e) for the thread's values k = 0 .. V - 1 that exist, e their index into the
// NCHW tensor (j = t + k B -> n = j / L, i = j % L, stepped without divisions).
template <int V, typename Fn>
__device__ __forceinline__ void for_on_chip(int C, int L, int M, Fn&& fn) {
  // j from an empty asm: each walk computes its indices afresh instead of keeping V of them
  // alive from the first walk to the last, which would spill the values.
  int j = threadIdx.x;
  asm volatile("" : "+r"(j));
  const int c = blockIdx.x, dn = blockDim.x / L, di = blockDim.x % L;
  int n = j / L, i = j % L;
#pragma unroll
  for (int k = 0; k < V; ++k) {
    if (j < M) fn(k, (n * C + c) * L + i);
    j += blockDim.x;
    n += dn;
    i += di;
    if (i >= L) {
      i -= L;
      ++n;
    }
  }
}

// The block's sum of v, in every thread (block_sum, then a broadcast through shared memory).
__device__ inline double block_total(double v) {
  __shared__ double total;
  v = block_sum(v);
  if (threadIdx.x == 0) total = v;
  __syncthreads();
  return total;
}

// The training forward of channel blockIdx.x: mean = sum x / M, var = sum (x - mean)^2 / M
// (the CPU's two passes, over the registers), stored as finish_stats stores them, then
// y = a x + b as batch_norm_apply. Reads x, writes y: 8 B per element.
template <typename T, int V, bool kRelu>
__global__ void __launch_bounds__(OnChipForward::kThreads)
    on_chip_forward(int64_t C, int64_t L, int64_t M, const T* __restrict__ x,
                    const T* __restrict__ weight, const T* __restrict__ bias, double momentum,
                    double eps, T* running_mean, T* running_var, double* __restrict__ mean,
                    double* __restrict__ invstd, T* __restrict__ y) {
  const int64_t c = blockIdx.x;
  T v[V];
  double s = 0;
  for_on_chip<V>(C, L, M, [&](int k, int64_t e) {
    v[k] = x[e];
    s += v[k];
  });
  const double mu = block_total(s) / M;
  double s2 = 0;
  for_on_chip<V>(C, L, M, [&](int k, int64_t) {
    const double d = v[k] - mu;
    s2 += d * d;
  });
  const double var = block_total(s2) / M, is = 1.0 / sqrt(var + eps);
  if (threadIdx.x == 0)
    store_statistics(c, mu, var, M, momentum, eps, running_mean, running_var, mean, invstd);
  const double a = weight[c] * is, b = bias[c] - a * mu;
  for_on_chip<V>(C, L, M, [&](int k, int64_t e) {
    const T out = static_cast<T>(a * v[k] + b);
    y[e] = kRelu ? ops::fn::Relu{}(out) : out;
  });
}

// The training backward of channel blockIdx.x: the sums of backward_partials over the
// registers, dbias and dweight when wanted, then dx as batch_norm_dx. Reads x and dy (and
// y), writes dx: 12 (16) B per element.
template <typename T, int V, bool kRelu>
__global__ void __launch_bounds__(OnChipBackward::kThreads)
    on_chip_backward(int64_t C, int64_t L, int64_t M, const T* __restrict__ x,
                     const T* __restrict__ dy, const T* __restrict__ y,
                     const T* __restrict__ weight, const double* __restrict__ mean,
                     const double* __restrict__ invstd, T* dweight, T* dbias,
                     T* __restrict__ dx) {
  const int64_t c = blockIdx.x;
  const double mu = mean[c], is = invstd[c];
  T g[V], xv[V];
  double s = 0, sx = 0;
  for_on_chip<V>(C, L, M, [&](int k, int64_t e) {
    g[k] = masked<T, kRelu>(dy, y, e);
    xv[k] = x[e];
    s += g[k];
    sx += g[k] * (xv[k] - mu) * is;
  });
  const double sg = block_total(s), sgx = block_total(sx);
  if (threadIdx.x == 0) {
    if (dbias != nullptr) dbias[c] = static_cast<T>(sg);
    if (dweight != nullptr) dweight[c] = static_cast<T>(sgx);
  }
  const double k = weight[c] * is, m = double(M);
  for_on_chip<V>(C, L, M, [&](int i, int64_t e) {
    const double xhat = (xv[i] - mu) * is;
    dx[e] = static_cast<T>(k / m * (m * g[i] - sg - xhat * sgx));
  });
}

BatchNormKernel g_kernel = BatchNormKernel::OnChip;

// Calls fn(std::integral_constant<int, V>{}) with the V of Chip that holds a channel of M
// values, and returns true; false where none does (or the tensor's n elements need 64-bit
// indices) or TwoPass is chosen.
template <typename Chip, typename Fn>
bool dispatch_on_chip(int64_t M, int64_t n, Fn&& fn) {
  if (g_kernel != BatchNormKernel::OnChip || M < 1 || n > INT32_MAX) return false;
  if (M <= Chip::kThreads * Chip::kSmall) {
    fn(std::integral_constant<int, Chip::kSmall>{});
    return true;
  }
  if (M <= Chip::kThreads * Chip::kLarge) {
    fn(std::integral_constant<int, Chip::kLarge>{});
    return true;
  }
  return false;
}

// Calls fn(std::true_type{}) or fn(std::false_type{}): the ReLU as a template argument.
template <typename Fn>
void dispatch_relu(bool relu, Fn&& fn) {
  if (relu)
    fn(std::true_type{});
  else
    fn(std::false_type{});
}

template <typename T>
T* ptr_or_null(const Tensor& t) {
  return t.defined() ? ptr<T>(t) : nullptr;
}

}  // namespace

void set_batch_norm_kernel(BatchNormKernel kernel) { g_kernel = kernel; }
BatchNormKernel batch_norm_kernel() { return g_kernel; }

void batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                        const Tensor& running_mean, const Tensor& running_var, bool training,
                        double momentum, double eps, bool relu, const Tensor& y,
                        const Tensor& mean, const Tensor& invstd) {
  const int64_t N = x.size(0), C = x.size(1), L = x.size(2) * x.size(3), n = x.numel();
  if (C == 0) return;
  const cudaStream_t s = stream(x);
  dispatch_floating(x.dtype(), "cuda batch_norm2d", [&](auto tag) {
    using T = decltype(tag);
    const int64_t M = N * L;
    const bool on_chip = training && dispatch_on_chip<OnChipForward>(M, n, [&](auto v) {
      dispatch_relu(relu, [&](auto r) {
        on_chip_forward<T, decltype(v)::value, decltype(r)::value>
            <<<C, OnChipForward::kThreads, 0, s>>>(
            C, L, M, ptr<T>(x), ptr<T>(weight), ptr<T>(bias), momentum, eps,
            ptr_or_null<T>(running_mean), ptr_or_null<T>(running_var), ptr<double>(mean),
            ptr<double>(invstd), ptr<T>(y));
      });
    });
    if (on_chip) return;
    if (training) {
      const int64_t parts = channel_parts(C, M, context(x).sm_count);
      const Tensor partial = Tensor::empty({2 * C * parts}, DType::Float64, x.device());
      const dim3 grid(static_cast<unsigned>(parts), static_cast<unsigned>(C));
      stats_partials<T><<<grid, kChannelThreads, 0, s>>>(C, L, M, ptr<T>(x), ptr<double>(partial));
      finish_stats<<<blocks_for(C), kThreads, 0, s>>>(
          C, L, parts, M, ptr<T>(x), ptr<double>(partial), momentum, eps,
          ptr_or_null<T>(running_mean), ptr_or_null<T>(running_var), ptr<double>(mean),
          ptr<double>(invstd));
    } else {
      running_stats<<<blocks_for(C), kThreads, 0, s>>>(C, ptr<T>(running_mean),
                                                       ptr<T>(running_var), eps,
                                                       ptr<double>(mean), ptr<double>(invstd));
    }
    if (n == 0) return;
    dispatch_relu(relu, [&](auto r) {
      batch_norm_apply<T, decltype(r)::value><<<plane_grid(N * C, L), kThreads, 0, s>>>(
          C, L, ptr<T>(x), ptr<T>(weight), ptr<T>(bias), ptr<double>(mean),
          ptr<double>(invstd), ptr<T>(y));
    });
  });
  TDSEG_LAUNCH_CHECK();
}

void batch_norm_backward(const Tensor& x, const Tensor& weight, const Tensor& dy,
                         const Tensor& y, const Tensor& mean, const Tensor& invstd,
                         bool training, const Tensor& dx, const Tensor& dweight,
                         const Tensor& dbias) {
  const int64_t N = x.size(0), C = x.size(1), L = x.size(2) * x.size(3), n = x.numel();
  // The sums feed dweight, dbias and, in training, dx; evaluation's dx needs none.
  const bool need_sums = dweight.defined() || dbias.defined() || (training && dx.defined());
  if (C == 0) return;
  const cudaStream_t s = stream(x);
  const Tensor sums = Tensor::empty({2, C}, DType::Float64, x.device());
  dispatch_floating(x.dtype(), "cuda batch_norm2d backward", [&](auto tag) {
    using T = decltype(tag);
    dispatch_relu(y.defined(), [&](auto r) {
      constexpr bool kRelu = decltype(r)::value;
      const int64_t M = N * L;
      const bool on_chip =
          training && dx.defined() && dispatch_on_chip<OnChipBackward>(M, n, [&](auto v) {
        on_chip_backward<T, decltype(v)::value, kRelu><<<C, OnChipBackward::kThreads, 0, s>>>(
            C, L, M, ptr<T>(x), ptr<T>(dy), ptr_or_null<T>(y), ptr<T>(weight),
            ptr<double>(mean), ptr<double>(invstd), ptr_or_null<T>(dweight),
            ptr_or_null<T>(dbias), ptr<T>(dx));
      });
      if (on_chip) return;
      if (need_sums) {
        const int64_t parts = channel_parts(C, M, context(x).sm_count);
        const Tensor partial = Tensor::empty({2 * C * parts}, DType::Float64, x.device());
        const dim3 grid(static_cast<unsigned>(parts), static_cast<unsigned>(C));
        backward_partials<T, kRelu><<<grid, kChannelThreads, 0, s>>>(
            C, L, M, ptr<T>(x), ptr<T>(dy), ptr_or_null<T>(y), ptr<double>(mean),
            ptr<double>(invstd), ptr<double>(partial));
        finish_backward_sums<<<blocks_for(C), kThreads, 0, s>>>(
            C, parts, ptr<double>(partial), ptr<double>(sums), ptr_or_null<T>(dweight),
            ptr_or_null<T>(dbias));
      }
      if (dx.defined() && n > 0)
        batch_norm_dx<T, kRelu><<<plane_grid(N * C, L), kThreads, 0, s>>>(
            C, L, double(N * L), training, ptr<T>(x), ptr<T>(dy), ptr_or_null<T>(y),
            ptr<T>(weight), ptr<double>(mean), ptr<double>(invstd), ptr<double>(sums),
            ptr<T>(dx));
    });
  });
  TDSEG_LAUNCH_CHECK();
}

}  // namespace tdseg::cuda
