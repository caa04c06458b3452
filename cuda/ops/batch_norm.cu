// Batch norm kernels (the maths is in core/ops/batch_norm.h). Element j of channel c's
// M = N*L values (L = H*W) is x[(n*C + c)*L + i] with n = j / L, i = j % L. The per-channel
// reductions run one block per channel and sum in double in a fixed order (no atomics), as
// the CPU does; the elementwise passes run one thread per element and read the [C]
// statistics through the cache.
#include <type_traits>

#include "core/ops/functors.h"
#include "cuda/block_reduce.cuh"
#include "cuda/context.h"
#include "cuda/launch.h"
#include "cuda/ops/batch_norm.h"

namespace tdseg::cuda {

namespace {

constexpr int kChannelThreads = 512;  // per-channel reductions: one block per channel

__device__ inline int64_t channel_index(int64_t j, int64_t c, int64_t C, int64_t L) {
  return (j / L * C + c) * L + j % L;
}

// The block's sum of v in every thread (block_sum leaves it in thread 0 only).
__device__ inline double block_sum_to_all(double v) {
  __shared__ double total;
  v = block_sum(v);
  if (threadIdx.x == 0) total = v;
  __syncthreads();
  return total;
}

// Training statistics of channel blockIdx.x, two-pass like the CPU: mu = sum x / M, then
// var = sum (x - mu)^2 / M (biased); the running statistics move towards the batch with
// the unbiased var * M / (M - 1). Reads 2 * M * sizeof(T) bytes per channel (the second
// pass mostly from L2); writes 2 doubles and 2 T.
template <typename T>
__global__ void batch_stats(int64_t C, int64_t L, int64_t M, const T* __restrict__ x,
                            double momentum, double eps, T* running_mean, T* running_var,
                            double* __restrict__ mean, double* __restrict__ invstd) {
  const int64_t c = blockIdx.x;
  double s = 0;
  for (int64_t j = threadIdx.x; j < M; j += blockDim.x) s += x[channel_index(j, c, C, L)];
  const double mu = block_sum_to_all(s) / M;
  double ss = 0;
  for (int64_t j = threadIdx.x; j < M; j += blockDim.x) {
    const double d = x[channel_index(j, c, C, L)] - mu;
    ss += d * d;
  }
  ss = block_sum(ss);
  if (threadIdx.x != 0) return;
  const double var = ss / M;
  mean[c] = mu;
  invstd[c] = 1.0 / sqrt(var + eps);
  if (running_mean == nullptr) return;
  running_mean[c] = static_cast<T>((1 - momentum) * running_mean[c] + momentum * mu);
  running_var[c] = static_cast<T>((1 - momentum) * running_var[c] +
                                  momentum * var * double(M) / double(M - 1));
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
__global__ void batch_norm_apply(int64_t n, int64_t C, int64_t L, const T* __restrict__ x,
                                 const T* __restrict__ weight, const T* __restrict__ bias,
                                 const double* __restrict__ mean,
                                 const double* __restrict__ invstd, T* __restrict__ y) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = i / L % C;
    const double a = weight[c] * invstd[c];
    const double b = bias[c] - a * mean[c];
    const T v = static_cast<T>(a * x[i] + b);
    y[i] = kRelu ? ops::fn::Relu{}(v) : v;
  }
}

// dy, masked by the fused ReLU's output (dy where y > 0) when there is one.
template <typename T, bool kRelu>
__device__ inline T masked(const T* dy, const T* y, int64_t i) {
  return kRelu ? ops::fn::ReluBackward{}(dy[i], y[i]) : dy[i];
}

// The backward's per-channel sums for channel blockIdx.x, in double:
//   sums[c] = sum g (= dbias),  sums[C + c] = sum g * xhat (= dweight),
// g the (masked) dy and xhat = (x - mean) * invstd. Reads 2 (3 with ReLU) * M * sizeof(T)
// bytes per channel.
template <typename T, bool kRelu>
__global__ void batch_norm_backward_sums(int64_t C, int64_t L, int64_t M,
                                         const T* __restrict__ x, const T* __restrict__ dy,
                                         const T* __restrict__ y,
                                         const double* __restrict__ mean,
                                         const double* __restrict__ invstd,
                                         double* __restrict__ sums, T* dweight, T* dbias) {
  const int64_t c = blockIdx.x;
  const double mu = mean[c], is = invstd[c];
  double s = 0, sx = 0;
  for (int64_t j = threadIdx.x; j < M; j += blockDim.x) {
    const int64_t k = channel_index(j, c, C, L);
    const T g = masked<T, kRelu>(dy, y, k);
    s += g;
    sx += g * (x[k] - mu) * is;
  }
  s = block_sum(s);
  sx = block_sum(sx);
  if (threadIdx.x != 0) return;
  sums[c] = s;
  sums[C + c] = sx;
  if (dbias != nullptr) dbias[c] = static_cast<T>(s);
  if (dweight != nullptr) dweight[c] = static_cast<T>(sx);
}

// dx = k / M * (M * g - sum g - xhat * sum g xhat)   (training, batch statistics)
// dx = k * g                                          (evaluation), k = weight * invstd.
// Reads x (training only), dy (and y) and writes dx: 3 to 4 * sizeof(T) bytes per element.
template <typename T, bool kRelu>
__global__ void batch_norm_dx(int64_t n, int64_t C, int64_t L, double M, bool training,
                              const T* __restrict__ x, const T* __restrict__ dy,
                              const T* __restrict__ y, const T* __restrict__ weight,
                              const double* __restrict__ mean,
                              const double* __restrict__ invstd,
                              const double* __restrict__ sums, T* __restrict__ dx) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = i / L % C;
    const T g = masked<T, kRelu>(dy, y, i);
    const double k = weight[c] * invstd[c];
    if (training) {
      const double xhat = (x[i] - mean[c]) * invstd[c];
      dx[i] = static_cast<T>(k / M * (M * g - sums[c] - xhat * sums[C + c]));
    } else {
      dx[i] = static_cast<T>(k * g);
    }
  }
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

void batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                        const Tensor& running_mean, const Tensor& running_var, bool training,
                        double momentum, double eps, bool relu, const Tensor& y,
                        const Tensor& mean, const Tensor& invstd) {
  const int64_t N = x.size(0), C = x.size(1), L = x.size(2) * x.size(3), n = x.numel();
  if (C == 0) return;
  const cudaStream_t s = stream(x);
  dispatch_floating(x.dtype(), "cuda batch_norm2d", [&](auto tag) {
    using T = decltype(tag);
    if (training)
      batch_stats<<<static_cast<unsigned>(C), kChannelThreads, 0, s>>>(
          C, L, N * L, ptr<T>(x), momentum, eps, ptr_or_null<T>(running_mean),
          ptr_or_null<T>(running_var), ptr<double>(mean), ptr<double>(invstd));
    else
      running_stats<<<blocks_for(C), kThreads, 0, s>>>(C, ptr<T>(running_mean),
                                                       ptr<T>(running_var), eps,
                                                       ptr<double>(mean), ptr<double>(invstd));
    if (n == 0) return;
    dispatch_relu(relu, [&](auto r) {
      batch_norm_apply<T, decltype(r)::value><<<blocks_for(n), kThreads, 0, s>>>(
          n, C, L, ptr<T>(x), ptr<T>(weight), ptr<T>(bias), ptr<double>(mean),
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
      if (need_sums)
        batch_norm_backward_sums<T, kRelu><<<static_cast<unsigned>(C), kChannelThreads, 0, s>>>(
            C, L, N * L, ptr<T>(x), ptr<T>(dy), ptr_or_null<T>(y), ptr<double>(mean),
            ptr<double>(invstd), ptr<double>(sums), ptr_or_null<T>(dweight),
            ptr_or_null<T>(dbias));
      if (dx.defined() && n > 0)
        batch_norm_dx<T, kRelu><<<blocks_for(n), kThreads, 0, s>>>(
            n, C, L, double(N * L), training, ptr<T>(x), ptr<T>(dy), ptr_or_null<T>(y),
            ptr<T>(weight), ptr<double>(mean), ptr<double>(invstd), ptr<double>(sums),
            ptr<T>(dx));
    });
  });
  TDSEG_LAUNCH_CHECK();
}

}  // namespace tdseg::cuda
