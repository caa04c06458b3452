// nll_loss on the CPU. Forward gathers one log-probability per valid pixel; backward
// writes -dy / |V| at (n, target, i) for valid pixels and 0 everywhere else.
#include "core/ops/loss.h"

#include "core/autograd.h"
#include "core/ops/checks.h"

namespace tdseg::ops {

namespace {

struct NllLossBackward : Node {
  int32_t ignore_index;
  int64_t valid;
  NllLossBackward(int32_t ig, int64_t v) : ignore_index(ig), valid(v) {}
  const char* name() const override { return "nll_loss"; }
  std::vector<Tensor> backward(const Tensor& dy) override {
    const Tensor &lp = inputs[0], &target = inputs[1];
    const int64_t N = lp.size(0), C = lp.size(1), L = lp.numel() / (N * C);
    Tensor dx = Tensor::zeros(lp.shape(), lp.dtype());
    if (valid == 0) return {dx, Tensor()};
    const int32_t* t = target.data<int32_t>();
    dispatch_floating(lp.dtype(), name(), [&](auto tag) {
      using T = decltype(tag);
      const T g = static_cast<T>(-dy.item() / static_cast<double>(valid));
      T* d = dx.data<T>();
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < L; ++i) {
          const int32_t k = t[n * L + i];
          if (k != ignore_index) d[(n * C + k) * L + i] = g;
        }
    });
    return {dx, Tensor()};
  }
};

}  // namespace

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, int32_t ignore_index) {
  const char* op = "nll_loss";
  check_defined(op, log_probs, "log_probs");
  check_defined(op, target, "target");
  check_floating(op, log_probs);
  check<DTypeError>(target.dtype() == DType::Int32, op, ": target must be int32 labels, got ",
                    target.str());
  check<ShapeError>(log_probs.dim() >= 2, op, ": log_probs must be [N, C, ...], got ",
                    shape_str(log_probs.shape()));
  Shape expect = log_probs.shape();
  expect.erase(expect.begin() + 1);
  check<ShapeError>(target.shape() == expect, op, ": target ", shape_str(target.shape()),
                    " must be ", shape_str(expect), " for log_probs ",
                    shape_str(log_probs.shape()));
  const int64_t N = log_probs.size(0), C = log_probs.size(1);
  const int64_t L = N * C > 0 ? log_probs.numel() / (N * C) : 0;
  const Tensor target_c = target.contiguous(), log_probs_c = log_probs.contiguous();
  const int32_t* t = target_c.data<int32_t>();
  int64_t valid = 0;
  double sum = 0;
  dispatch_floating(log_probs.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* lp = log_probs_c.data<T>();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < L; ++i) {
        const int32_t k = t[n * L + i];
        if (k == ignore_index) continue;
        check<ValueError>(k >= 0 && k < C, op, ": label ", k, " at image ", n, ", pixel ", i,
                          " is outside [0, ", C, ") and is not the ignore label ", ignore_index);
        sum += lp[(n * C + k) * L + i];
        ++valid;
      }
  });
  Tensor out = Tensor::full({}, valid ? -sum / valid : 0.0, log_probs.dtype());
  return record(out, {log_probs, target}, std::make_shared<NllLossBackward>(ignore_index, valid));
}

}  // namespace tdseg::ops
