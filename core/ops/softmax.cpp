// softmax and log_softmax on the CPU: forward and backward side by side. Both nodes
// save their output (detached, so the graph has no cycle) and no input:
//   softmax:     dx = y * (dy - sum_c dy * y)
//   log_softmax: dx = dy - exp(y) * sum_c dy
// The inner loops run over the contiguous pixel index i, the sums over c go to a
// per-pixel buffer, so every pass streams whole class planes.
#include "core/ops/softmax.h"

#include <cmath>
#include <vector>

#include "core/autograd.h"
#include "core/ops/checks.h"
#include "core/parallel.h"

namespace tdseg::ops {

namespace {

struct Dims {
  int64_t N, C, L;  // L = product of the dims after C
};

Dims dims(const Tensor& x) {
  return {x.size(0), x.size(1), x.numel() / std::max<int64_t>(1, x.size(0) * x.size(1))};
}

template <typename T>
void forward(const Dims& d, const T* x, T* y, bool log) {
#pragma omp parallel for if (d.N * d.C * d.L >= kParallelMinElements)
  for (int64_t n = 0; n < d.N; ++n) {
    std::vector<double> m(d.L, -INFINITY), s(d.L, 0.0);
    const T* xn = x + n * d.C * d.L;
    T* yn = y + n * d.C * d.L;
    for (int64_t c = 0; c < d.C; ++c)
      for (int64_t i = 0; i < d.L; ++i) m[i] = std::max<double>(m[i], xn[c * d.L + i]);
    for (int64_t c = 0; c < d.C; ++c)
      for (int64_t i = 0; i < d.L; ++i) s[i] += std::exp(xn[c * d.L + i] - m[i]);
    for (int64_t i = 0; i < d.L; ++i) s[i] = log ? m[i] + std::log(s[i]) : 1.0 / s[i];
    for (int64_t c = 0; c < d.C; ++c)
      for (int64_t i = 0; i < d.L; ++i) {
        const double v = xn[c * d.L + i];
        yn[c * d.L + i] = static_cast<T>(log ? v - s[i] : std::exp(v - m[i]) * s[i]);
      }
  }
}

template <typename T>
void backward(const Dims& d, const T* y, const T* dy, T* dx, bool log) {
#pragma omp parallel for if (d.N * d.C * d.L >= kParallelMinElements)
  for (int64_t n = 0; n < d.N; ++n) {
    std::vector<double> s(d.L, 0.0);
    const int64_t base = n * d.C * d.L;
    for (int64_t c = 0; c < d.C; ++c)
      for (int64_t i = 0, k = base + c * d.L; i < d.L; ++i, ++k)
        s[i] += log ? dy[k] : static_cast<double>(dy[k]) * y[k];
    for (int64_t c = 0; c < d.C; ++c)
      for (int64_t i = 0, k = base + c * d.L; i < d.L; ++i, ++k)
        dx[k] = static_cast<T>(log ? dy[k] - std::exp(static_cast<double>(y[k])) * s[i]
                                   : y[k] * (dy[k] - s[i]));
  }
}

struct SoftmaxBackward : Node {
  Tensor y;  // the output, detached
  bool log;
  SoftmaxBackward(Tensor out, bool l) : y(std::move(out)), log(l) {}
  const char* name() const override { return log ? "log_softmax" : "softmax"; }
  void release_saved() override { y = Tensor(); }
  std::vector<Tensor> backward(const Tensor& dy_in) override {
    Tensor dy = dy_in.contiguous();
    Tensor dx = Tensor::empty(y.shape(), y.dtype());
    dispatch_floating(y.dtype(), name(), [&](auto tag) {
      using T = decltype(tag);
      tdseg::ops::backward(dims(y), y.data<T>(), dy.data<T>(), dx.data<T>(), log);
    });
    return {dx};
  }
};

Tensor softmax_impl(const Tensor& x, bool log) {
  const char* op = log ? "log_softmax" : "softmax";
  check_defined(op, x, "input");
  check_floating(op, x);
  check<ShapeError>(x.dim() >= 2, op, ": input must be [N, C, ...], got ", shape_str(x.shape()));
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    forward(dims(x), x.contiguous().data<T>(), out.data<T>(), log);
  });
  if (!needs_grad({x})) return out;
  return record(out, {x}, std::make_shared<SoftmaxBackward>(out.detach(), log));
}

}  // namespace

Tensor softmax(const Tensor& x) { return softmax_impl(x, false); }
Tensor log_softmax(const Tensor& x) { return softmax_impl(x, true); }

}  // namespace tdseg::ops
