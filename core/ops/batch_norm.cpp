// batch_norm2d and batch_norm_relu2d, on the CPU or through their CUDA twins
// (cuda/ops/batch_norm.cu): forward and backward side by side. Per-channel sums are
// accumulated in double. The node keeps mu and 1/sqrt(var + eps) per channel (float64 [C]
// on x's device) and recomputes xhat = (x - mu) * invstd from x in backward rather than
// storing it; the fused op also keeps its output, whose sign is the ReLU's mask. With
// g = dy (times [y > 0] when fused):
//   dbias[c]   = sum g
//   dweight[c] = sum g * xhat
//   dx         = weight * invstd / M * (M * g - dbias - xhat * dweight)   (training)
//   dx         = weight * invstd * g                                      (evaluation)
#include "core/ops/batch_norm.h"

#include <cmath>

#include "core/autograd.h"
#include "core/device_memory.h"
#include "core/ops/checks.h"
#include "core/ops/functors.h"
#include "core/parallel.h"
#include "cuda/ops/batch_norm.h"

namespace tdseg::ops {

namespace {

struct BatchNormBackward : Node {
  const char* op;
  Tensor mean, invstd;  // float64 [C]
  Tensor out;           // the fused op's output (detached); undefined without ReLU
  bool training;
  BatchNormBackward(const char* o, Tensor m, Tensor s, Tensor y, bool t)
      : op(o), mean(std::move(m)), invstd(std::move(s)), out(std::move(y)), training(t) {}
  const char* name() const override { return op; }
  void release_saved() override {
    mean = Tensor();
    invstd = Tensor();
    out = Tensor();
  }

  std::vector<Tensor> backward(const Tensor& dy_in) override {
    const Tensor &x = inputs[0], &w = inputs[1], &b = inputs[2];
    const int64_t N = x.size(0), C = x.size(1), L = x.size(2) * x.size(3);
    const double M = static_cast<double>(N * L);
    const Tensor dy = dy_in.contiguous();
    const Device d = x.device();
    Tensor dx = x.requires_grad() ? Tensor::empty(x.shape(), x.dtype(), d) : Tensor();
    Tensor dw = w.requires_grad() ? Tensor::empty(w.shape(), w.dtype(), d) : Tensor();
    Tensor db = b.requires_grad() ? Tensor::empty(b.shape(), b.dtype(), d) : Tensor();
    if constexpr (kCudaBuilt) {
      if (d.is_cuda()) {
        cuda::batch_norm_backward(x.contiguous(), w.contiguous(), dy, out, mean, invstd,
                                  training, dx, dw, db);
        return {dx, dw, db};
      }
    }
    const bool relu = out.defined();
    const double *pm = mean.data<double>(), *ps = invstd.data<double>();
    dispatch_floating(x.dtype(), name(), [&](auto tag) {
      using T = decltype(tag);
      const T *px = x.data<T>(), *pdy = dy.data<T>(), *pw = w.data<T>();
      const T* py = relu ? out.data<T>() : nullptr;
      auto g = [&](int64_t k) { return relu ? fn::ReluBackward{}(pdy[k], py[k]) : pdy[k]; };
#pragma omp parallel for if (x.numel() >= kParallelMinElements)
      for (int64_t c = 0; c < C; ++c) {
        double sum_dy = 0, sum_dy_xhat = 0;
        for (int64_t n = 0; n < N; ++n)
          for (int64_t i = 0, base = (n * C + c) * L; i < L; ++i) {
            sum_dy += g(base + i);
            sum_dy_xhat += g(base + i) * (px[base + i] - pm[c]) * ps[c];
          }
        if (db.defined()) db.data<T>()[c] = static_cast<T>(sum_dy);
        if (dw.defined()) dw.data<T>()[c] = static_cast<T>(sum_dy_xhat);
        if (!dx.defined()) continue;
        const double k = pw[c] * ps[c];
        T* pdx = dx.data<T>();
        for (int64_t n = 0; n < N; ++n)
          for (int64_t i = 0, base = (n * C + c) * L; i < L; ++i) {
            const double xhat = (px[base + i] - pm[c]) * ps[c];
            pdx[base + i] = static_cast<T>(
                training ? k / M * (M * g(base + i) - sum_dy - xhat * sum_dy_xhat)
                         : k * g(base + i));
          }
      }
    });
    return {dx, dw, db};
  }
};

Tensor batch_norm(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias,
                  const Tensor& running_mean, const Tensor& running_var, bool training,
                  double momentum, double eps, bool relu) {
  check_defined(op, x, "input");
  check_floating(op, x);
  check_rank(op, x, 4, "input [N, C, H, W]");
  const int64_t N = x.size(0), C = x.size(1), L = x.size(2) * x.size(3);
  check_defined(op, weight, "weight");
  check_defined(op, bias, "bias");
  for (const Tensor* t : {&weight, &bias, &running_mean, &running_var}) {
    if (!t->defined()) continue;
    check_same_dtype(op, x, *t);
    check_same_device(op, x, *t);
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
  const Device d = x.device();
  const Tensor xc = x.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype(), d);
  Tensor mean = Tensor::empty({C}, DType::Float64, d);
  Tensor invstd = Tensor::empty({C}, DType::Float64, d);
  auto node = [&] {
    return std::make_shared<BatchNormBackward>(op, mean, invstd, relu ? out.detach() : Tensor(),
                                               training);
  };
  if constexpr (kCudaBuilt) {
    if (d.is_cuda()) {
      cuda::batch_norm_forward(xc, weight.contiguous(), bias.contiguous(), running_mean,
                               running_var, training, momentum, eps, relu, out, mean, invstd);
      return record(out, {x, weight, bias}, node());
    }
  }
  double *pm = mean.data<double>(), *ps = invstd.data<double>();
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
      pm[c] = mu;
      ps[c] = 1.0 / std::sqrt(var + eps);
      const double a = weight.data<T>()[c] * ps[c];
      const double b = bias.data<T>()[c] - a * mu;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0, base = (n * C + c) * L; i < L; ++i) {
          const T v = static_cast<T>(a * px[base + i] + b);
          py[base + i] = relu ? fn::Relu{}(v) : v;
        }
    }
  });
  return record(out, {x, weight, bias}, node());
}

}  // namespace

Tensor batch_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                    const Tensor& running_mean, const Tensor& running_var, bool training,
                    double momentum, double eps) {
  return batch_norm("batch_norm2d", x, weight, bias, running_mean, running_var, training,
                    momentum, eps, false);
}

Tensor batch_norm_relu2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                         const Tensor& running_mean, const Tensor& running_var, bool training,
                         double momentum, double eps) {
  return batch_norm("batch_norm_relu2d", x, weight, bias, running_mean, running_var, training,
                    momentum, eps, true);
}

}  // namespace tdseg::ops
