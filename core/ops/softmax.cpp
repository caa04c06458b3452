// softmax and log_softmax on the CPU, or through their CUDA twins (cuda/ops/softmax.cu):
// forward and backward side by side. Both nodes save their output (detached, so the graph
// has no cycle) and no input:
//   softmax:     dx = y * (dy - sum_c dy * y)
//   log_softmax: dx = dy - exp(y) * sum_c dy
// The inner loops run over the contiguous pixel index i; the sums over c (stride H*W in
// NCHW) go to a per-pixel buffer.
#include "core/ops/softmax.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/autograd.h"
#include "core/device_memory.h"
#include "core/ops/checks.h"
#include "core/parallel.h"
#include "cuda/ops/softmax.h"

namespace tdseg::ops {

namespace {

int64_t pixels(const Tensor& x) {  // the product of the dims after C
  return x.numel() / std::max<int64_t>(1, x.size(0) * x.size(1));
}

}  // namespace

// Both kernels work on blocks of kBlock pixels of one image, so that the per-pixel max
// and sum live in a small buffer and the C rows of a block stay in cache between passes;
// the blocks are independent and shared among threads.
constexpr int64_t kBlock = 512;

template <typename T>
void softmax_forward_cpu(int64_t N, int64_t C, int64_t L, const T* x, T* y, bool log) {
  const int64_t blocks = (L + kBlock - 1) / kBlock;
#pragma omp parallel for if (N * C * L >= kParallelMinElements)
  for (int64_t job = 0; job < N * blocks; ++job) {
    const int64_t n = job / blocks, i0 = job % blocks * kBlock, len = std::min(kBlock, L - i0);
    T m[kBlock];
    double s[kBlock];
    const T* xn = x + n * C * L + i0;
    T* yn = y + n * C * L + i0;
    channel_max(C, L, len, xn, m);
    std::fill(s, s + len, 0.0);
    // One exp per element: softmax keeps exp(x - m) in y and scales it by 1/s afterwards.
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < len; ++i) {
        const T e = std::exp(xn[c * L + i] - m[i]);
        s[i] += e;
        if (!log) yn[c * L + i] = e;
      }
    for (int64_t i = 0; i < len; ++i) s[i] = log ? m[i] + std::log(s[i]) : 1.0 / s[i];
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < len; ++i)
        yn[c * L + i] = log ? static_cast<T>(xn[c * L + i] - s[i]) : static_cast<T>(yn[c * L + i] * s[i]);
  }
}

template <typename T>
void softmax_backward_cpu(int64_t N, int64_t C, int64_t L, const T* y, const T* dy, T* dx,
                          bool log) {
  const int64_t blocks = (L + kBlock - 1) / kBlock;
#pragma omp parallel for if (N * C * L >= kParallelMinElements)
  for (int64_t job = 0; job < N * blocks; ++job) {
    const int64_t n = job / blocks, i0 = job % blocks * kBlock, len = std::min(kBlock, L - i0);
    const int64_t base = n * C * L + i0;
    double s[kBlock] = {};
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0, k = base + c * L; i < len; ++i, ++k)
        s[i] += log ? dy[k] : static_cast<double>(dy[k]) * y[k];
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0, k = base + c * L; i < len; ++i, ++k)
        dx[k] = static_cast<T>(log ? dy[k] - std::exp(static_cast<double>(y[k])) * s[i]
                                   : y[k] * (dy[k] - s[i]));
  }
}

template void softmax_forward_cpu(int64_t, int64_t, int64_t, const float*, float*, bool);
template void softmax_forward_cpu(int64_t, int64_t, int64_t, const double*, double*, bool);
template void softmax_backward_cpu(int64_t, int64_t, int64_t, const float*, const float*, float*,
                                   bool);
template void softmax_backward_cpu(int64_t, int64_t, int64_t, const double*, const double*,
                                   double*, bool);

namespace {

struct SoftmaxBackward : Node {
  Tensor y;  // the output, detached
  bool log;
  SoftmaxBackward(Tensor out, bool l) : y(std::move(out)), log(l) {}
  const char* name() const override { return log ? "log_softmax" : "softmax"; }
  void release_saved() override { y = Tensor(); }
  std::vector<Tensor> backward(const Tensor& dy_in) override {
    Tensor dy = dy_in.contiguous();
    Tensor dx = Tensor::empty(y.shape(), y.dtype(), y.device());
    if constexpr (kCudaBuilt) {
      if (y.device().is_cuda()) {
        cuda::softmax_backward(y, dy, dx, log);
        return {dx};
      }
    }
    dispatch_floating(y.dtype(), name(), [&](auto tag) {
      using T = decltype(tag);
      softmax_backward_cpu(y.size(0), y.size(1), pixels(y), y.data<T>(), dy.data<T>(),
                           dx.data<T>(), log);
    });
    return {dx};
  }
};

Tensor softmax_impl(const Tensor& x, bool log) {
  const char* op = log ? "log_softmax" : "softmax";
  check_defined(op, x, "input");
  check_floating(op, x);
  check<ShapeError>(x.dim() >= 2, op, ": input must be [N, C, ...], got ", shape_str(x.shape()));
  const Tensor xc = x.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if constexpr (kCudaBuilt) {
    if (x.device().is_cuda()) cuda::softmax_forward(xc, out, log);
  }
  if (x.device().is_cpu())
    dispatch_floating(x.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      softmax_forward_cpu(x.size(0), x.size(1), pixels(x), xc.data<T>(), out.data<T>(), log);
    });
  if (!needs_grad({x})) return out;
  return record(out, {x}, std::make_shared<SoftmaxBackward>(out.detach(), log));
}

}  // namespace

Tensor softmax(const Tensor& x) { return softmax_impl(x, false); }
Tensor log_softmax(const Tensor& x) { return softmax_impl(x, true); }

}  // namespace tdseg::ops
