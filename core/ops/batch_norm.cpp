// batch_norm2d on the CPU: forward and backward side by side. Per-channel sums are
// accumulated in double. The node keeps mu and 1/sqrt(var + eps) per channel ([C] each)
// and recomputes xhat = (x - mu) * invstd from x in backward rather than storing it.
//   dbias[c]   = sum dy
//   dweight[c] = sum dy * xhat
//   dx         = weight * invstd / M * (M * dy - dbias - xhat * dweight)   (training)
//   dx         = weight * invstd * dy                                      (evaluation)
#include "core/ops/batch_norm.h"

#include <cmath>
#include <vector>

#include "core/autograd.h"
#include "core/ops/checks.h"
#include "core/parallel.h"

namespace tdseg::ops {

namespace {

struct BatchNormBackward : Node {
  std::vector<double> mean, invstd;
  bool training;
  BatchNormBackward(std::vector<double> m, std::vector<double> s, bool t)
      : mean(std::move(m)), invstd(std::move(s)), training(t) {}
  const char* name() const override { return "batch_norm2d"; }
  void release_saved() override {
    mean.clear();
    invstd.clear();
  }

  std::vector<Tensor> backward(const Tensor& dy_in) override {
    const Tensor &x = inputs[0], &w = inputs[1], &b = inputs[2];
    const int64_t N = x.size(0), C = x.size(1), L = x.size(2) * x.size(3);
    const double M = static_cast<double>(N * L);
    Tensor dy = dy_in.contiguous();
    Tensor dx = x.requires_grad() ? Tensor::empty(x.shape(), x.dtype()) : Tensor();
    Tensor dw = w.requires_grad() ? Tensor::empty(w.shape(), w.dtype()) : Tensor();
    Tensor db = b.requires_grad() ? Tensor::empty(b.shape(), b.dtype()) : Tensor();
    dispatch_floating(x.dtype(), name(), [&](auto tag) {
      using T = decltype(tag);
      const T *px = x.data<T>(), *pdy = dy.data<T>(), *pw = w.data<T>();
#pragma omp parallel for if (x.numel() >= kParallelMinElements)
      for (int64_t c = 0; c < C; ++c) {
        double sum_dy = 0, sum_dy_xhat = 0;
        for (int64_t n = 0; n < N; ++n)
          for (int64_t i = 0, base = (n * C + c) * L; i < L; ++i) {
            sum_dy += pdy[base + i];
            sum_dy_xhat += pdy[base + i] * (px[base + i] - mean[c]) * invstd[c];
          }
        if (db.defined()) db.data<T>()[c] = static_cast<T>(sum_dy);
        if (dw.defined()) dw.data<T>()[c] = static_cast<T>(sum_dy_xhat);
        if (!dx.defined()) continue;
        const double k = pw[c] * invstd[c];
        T* pdx = dx.data<T>();
        for (int64_t n = 0; n < N; ++n)
          for (int64_t i = 0, base = (n * C + c) * L; i < L; ++i) {
            const double xhat = (px[base + i] - mean[c]) * invstd[c];
            pdx[base + i] = static_cast<T>(
                training ? k / M * (M * pdy[base + i] - sum_dy - xhat * sum_dy_xhat)
                         : k * pdy[base + i]);
          }
      }
    });
    return {dx, dw, db};
  }
};

}  // namespace

Tensor batch_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                    const Tensor& running_mean, const Tensor& running_var, bool training,
                    double momentum, double eps) {
  const char* op = "batch_norm2d";
  check_defined(op, x, "input");
  check_floating(op, x);
  check_rank(op, x, 4, "input [N, C, H, W]");
  const int64_t N = x.size(0), C = x.size(1), L = x.size(2) * x.size(3);
  check_defined(op, weight, "weight");
  check_defined(op, bias, "bias");
  for (const Tensor* t : {&weight, &bias, &running_mean, &running_var}) {
    if (!t->defined()) continue;
    check_same_dtype(op, x, *t);
    check<ShapeError>(t->shape() == Shape{C}, op, ": per-channel tensor ", shape_str(t->shape()),
                      " must be [", C, "] for input ", shape_str(x.shape()));
  }
  check<ValueError>(training || (running_mean.defined() && running_var.defined()), op,
                    ": evaluation needs the running mean and variance");
  check<ValueError>(running_mean.defined() == running_var.defined(), op,
                    ": give both running statistics or neither");
  check<ShapeError>(!training || N * L > 1, op, ": training needs more than one value per "
                    "channel, input is ", shape_str(x.shape()));
  check<ValueError>(eps > 0 && momentum >= 0 && momentum <= 1, op,
                    ": need eps > 0 and momentum in [0, 1], got eps=", eps, " momentum=", momentum);

  const double M = static_cast<double>(N * L);
  std::vector<double> mean(C), invstd(C);
  const Tensor xc = x.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* px = xc.data<T>();
    T* py = out.data<T>();
#pragma omp parallel for if (x.numel() >= kParallelMinElements)
    for (int64_t c = 0; c < C; ++c) {
      double mu, var;
      if (training) {
        double s = 0, ss = 0;
        for (int64_t n = 0; n < N; ++n)
          for (int64_t i = 0, base = (n * C + c) * L; i < L; ++i) s += px[base + i];
        mu = s / M;
        for (int64_t n = 0; n < N; ++n)
          for (int64_t i = 0, base = (n * C + c) * L; i < L; ++i)
            ss += (px[base + i] - mu) * (px[base + i] - mu);
        var = ss / M;
        if (running_mean.defined()) {
          T* rm = running_mean.data<T>();
          T* rv = running_var.data<T>();
          rm[c] = static_cast<T>((1 - momentum) * rm[c] + momentum * mu);
          rv[c] = static_cast<T>((1 - momentum) * rv[c] + momentum * var * M / (M - 1));
        }
      } else {
        mu = running_mean.data<T>()[c];
        var = running_var.data<T>()[c];
      }
      mean[c] = mu;
      invstd[c] = 1.0 / std::sqrt(var + eps);
      const double a = weight.data<T>()[c] * invstd[c];
      const double b = bias.data<T>()[c] - a * mu;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0, base = (n * C + c) * L; i < L; ++i)
          py[base + i] = static_cast<T>(a * px[base + i] + b);
    }
  });
  return record(out, {x, weight, bias},
                std::make_shared<BatchNormBackward>(std::move(mean), std::move(invstd), training));
}

}  // namespace tdseg::ops
