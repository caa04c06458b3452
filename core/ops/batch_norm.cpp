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

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

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
#pragma omp parallel if (x.numel() >= kParallelMinElements)
      {
        std::vector<T> g(N * L);  // one channel's g, image after image
#pragma omp for
        for (int64_t c = 0; c < C; ++c) {
          // g first, in a loop the compiler vectorises: in the sums' loop, which it cannot
          // (a chain of additions), the ReLU's select was a branch an element on the sign
          // of y (the tiny network's backward, batch 8 at 65 x 65 on one core: 31.1 to
          // 23.7 ms).
          for (int64_t n = 0; n < N; ++n) {
            const int64_t base = (n * C + c) * L;
            T* gn = g.data() + n * L;
            if (relu)
              for (int64_t i = 0; i < L; ++i) gn[i] = fn::ReluBackward{}(pdy[base + i], py[base + i]);
            else
              std::copy(pdy + base, pdy + base + L, gn);
          }
          const double mu = pm[c], s = ps[c];
          double sum_dy = 0, sum_dy_xhat = 0;
          for (int64_t n = 0; n < N; ++n)
            for (int64_t i = 0, base = (n * C + c) * L; i < L; ++i) {
              sum_dy += g[n * L + i];
              sum_dy_xhat += g[n * L + i] * (px[base + i] - mu) * s;
            }
          if (db.defined()) db.data<T>()[c] = static_cast<T>(sum_dy);
          if (dw.defined()) dw.data<T>()[c] = static_cast<T>(sum_dy_xhat);
          if (!dx.defined()) continue;
          const double k = pw[c] * s, k_over_m = k / M;
          T* pdx = dx.data<T>();
          for (int64_t n = 0; n < N; ++n)
            for (int64_t i = 0, base = (n * C + c) * L; i < L; ++i) {
              const double xhat = (px[base + i] - mu) * s;
              pdx[base + i] = static_cast<T>(
                  training ? k_over_m * (M * g[n * L + i] - sum_dy - xhat * sum_dy_xhat)
                           : k * g[n * L + i]);
            }
        }
      }
    });
    return {dx, dw, db};
  }
};

// The per-channel sums run in one fixed order, n then i, which defines the CPU's results.
// One channel's sum is a chain of dependent additions (4 cycles each on x86-64), so the
// forward sums kLanes channels together, one chain each: the same sums to the bit, more
// of them in flight (the tiny network's forward, batch 8 at 65 x 65 on one core: 17.3
// to 14.9 ms). The backward's sums do more per element and gained nothing so.
constexpr int kLanes = 4;

// add(j, k) for each lane j < G and element k of its channel c0 + j, k in order.
template <int G, typename Add>
void over_channels(int64_t N, int64_t C, int64_t L, int64_t c0, Add add) {
  for (int64_t n = 0; n < N; ++n) {
    const int64_t base = (n * C + c0) * L;
    for (int64_t i = 0; i < L; ++i)
      for (int j = 0; j < G; ++j) add(j, base + j * L + i);
  }
}

// body(lanes, c0) for the channels c0 .. c0 + lanes - 1: groups of kLanes, then one at a
// time; lanes is a std::integral_constant, so that a group's loops are unrolled. Where
// groups would leave threads idle (the tiny network's first layers have 4 and 8
// channels) the channels go one at a time: the sums are the same either way.
template <typename Body>
void channel_groups(int64_t C, bool parallel, Body body) {
  const int64_t groups = parallel && C < kLanes * max_threads() ? 0 : C / kLanes;
  const int64_t rest = C - groups * kLanes;
#pragma omp parallel for if (parallel)
  for (int64_t k = 0; k < groups + rest; ++k) {
    if (k < groups)
      body(std::integral_constant<int, kLanes>{}, k * kLanes);
    else
      body(std::integral_constant<int, 1>{}, groups * kLanes + k - groups);
  }
}

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
    channel_groups(C, x.numel() >= kParallelMinElements, [&](auto lanes, int64_t c0) {
      constexpr int G = decltype(lanes)::value;
      double mu[G], var[G];
      if (training) {
        double s[G] = {}, ss[G] = {};
        over_channels<G>(N, C, L, c0, [&](int j, int64_t k) { s[j] += px[k]; });
        for (int j = 0; j < G; ++j) mu[j] = s[j] / M;
        over_channels<G>(N, C, L, c0, [&](int j, int64_t k) {
          ss[j] += (px[k] - mu[j]) * (px[k] - mu[j]);
        });
        for (int j = 0; j < G; ++j) var[j] = ss[j] / M;
        if (running_mean.defined()) {
          T *rm = running_mean.data<T>() + c0, *rv = running_var.data<T>() + c0;
          for (int j = 0; j < G; ++j) {
            rm[j] = static_cast<T>((1 - momentum) * rm[j] + momentum * mu[j]);
            rv[j] = static_cast<T>((1 - momentum) * rv[j] + momentum * var[j] * M / (M - 1));
          }
        }
      } else {
        for (int j = 0; j < G; ++j) {
          mu[j] = running_mean.data<T>()[c0 + j];
          var[j] = running_var.data<T>()[c0 + j];
        }
      }
      for (int j = 0; j < G; ++j) {
        const int64_t c = c0 + j;
        pm[c] = mu[j];
        ps[c] = 1.0 / std::sqrt(var[j] + eps);
        const double a = weight.data<T>()[c] * ps[c];
        const double b = bias.data<T>()[c] - a * mu[j];
        for (int64_t n = 0; n < N; ++n)
          for (int64_t i = 0, base = (n * C + c) * L; i < L; ++i) {
            const T v = static_cast<T>(a * px[base + i] + b);
            py[base + i] = relu ? fn::Relu{}(v) : v;
          }
      }
    });
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
