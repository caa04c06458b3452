// nll_loss on the CPU, or through its CUDA twins (cuda/ops/loss.cu). Forward gathers one
// log-probability per valid pixel; backward writes -dy / |V| at (n, target, i) for valid
// pixels and 0 everywhere else. The node saves |V| as a float64 scalar on the loss's
// device, so that the GPU backward reads it without a round trip to the host.
#include "core/ops/loss.h"

#include "core/autograd.h"
#include "core/device_memory.h"
#include "core/ops/checks.h"
#include "cuda/ops/loss.h"

namespace tdseg::ops {

LossInputs check_loss_inputs(const char* op, const Tensor& scores, const char* what,
                             const Tensor& target) {
  check_defined(op, scores, what);
  check_defined(op, target, "target");
  check_floating(op, scores);
  check<DTypeError>(target.dtype() == DType::Int32, op, ": target must be int32 labels, got ",
                    target.str());
  check<ShapeError>(scores.dim() >= 2, op, ": ", what, " must be [N, C, ...], got ",
                    shape_str(scores.shape()));
  Shape expect = scores.shape();
  expect.erase(expect.begin() + 1);
  check<ShapeError>(target.shape() == expect, op, ": target ", shape_str(target.shape()),
                    " must be ", shape_str(expect), " for ", what, " ",
                    shape_str(scores.shape()));
  check_same_device(op, scores, target);
  const int64_t N = scores.size(0);
  return {scores.contiguous(), target.contiguous(), N, scores.size(1),
          N > 0 ? target.numel() / N : 0};
}

void throw_bad_label(const char* op, const LossInputs& in, int32_t label, int64_t p,
                     int32_t ignore_index) {
  throw ValueError(cat(op, ": label ", label, " at image ", p / in.L, ", pixel ", p % in.L,
                       " is outside [0, ", in.C, ") and is not the ignore label ",
                       ignore_index));
}

void check_labels_cpu(const char* op, const LossInputs& in, int32_t ignore_index) {
  const int32_t* t = in.target.data<int32_t>();
  for (int64_t p = 0; p < in.target.numel(); ++p)
    if (t[p] != ignore_index && (t[p] < 0 || t[p] >= in.C))
      throw_bad_label(op, in, t[p], p, ignore_index);
}

namespace {

struct NllLossBackward : Node {
  int32_t ignore_index;
  Tensor valid;  // |V|, a float64 scalar on the loss's device
  NllLossBackward(int32_t ig, Tensor v) : ignore_index(ig), valid(std::move(v)) {}
  const char* name() const override { return "nll_loss"; }
  void release_saved() override { valid = Tensor(); }
  std::vector<Tensor> backward(const Tensor& dy) override {
    const Tensor &lp = inputs[0], target = inputs[1].contiguous();
    if constexpr (kCudaBuilt) {
      if (lp.device().is_cuda()) {
        Tensor dx = Tensor::empty(lp.shape(), lp.dtype(), lp.device());
        cuda::nll_loss_backward(target, dy, valid, dx, ignore_index);
        return {dx, Tensor()};
      }
    }
    Tensor dx = Tensor::zeros(lp.shape(), lp.dtype());
    const double count = valid.item();
    if (count == 0) return {dx, Tensor()};
    const int64_t N = lp.size(0), C = lp.size(1), L = target.numel() / N;
    const int32_t* t = target.data<int32_t>();
    dispatch_floating(lp.dtype(), name(), [&](auto tag) {
      using T = decltype(tag);
      const T g = static_cast<T>(-dy.item() / count);
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
  const LossInputs in = check_loss_inputs(op, log_probs, "log_probs", target);
  const int64_t N = in.N, C = in.C, L = in.L;
  if constexpr (kCudaBuilt) {
    if (log_probs.device().is_cuda()) {
      Tensor out = Tensor::empty({}, log_probs.dtype(), log_probs.device());
      Tensor valid = Tensor::empty({}, DType::Float64, log_probs.device());
      const cuda::BadLabel bad =
          cuda::nll_loss_forward(in.scores, in.target, out, valid, ignore_index);
      if (bad.pixel >= 0) throw_bad_label(op, in, bad.label, bad.pixel, ignore_index);
      return record(out, {log_probs, target},
                    std::make_shared<NllLossBackward>(ignore_index, valid));
    }
  }
  check_labels_cpu(op, in, ignore_index);
  const int32_t* t = in.target.data<int32_t>();
  int64_t valid = 0;
  double sum = 0;
  dispatch_floating(log_probs.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* lp = in.scores.data<T>();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < L; ++i) {
        const int32_t k = t[n * L + i];
        if (k == ignore_index) continue;
        sum += lp[(n * C + k) * L + i];
        ++valid;
      }
  });
  Tensor out = Tensor::full({}, valid ? -sum / valid : 0.0, log_probs.dtype());
  return record(out, {log_probs, target},
                std::make_shared<NllLossBackward>(
                    ignore_index, Tensor::full({}, static_cast<double>(valid), DType::Float64)));
}

}  // namespace tdseg::ops
