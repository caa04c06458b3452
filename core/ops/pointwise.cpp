// log and clamp_min on the CPU: forward and backward side by side. Both nodes keep only
// their input, from which the backward is recomputed elementwise.
#include "core/ops/pointwise.h"

#include "core/autograd.h"
#include "core/ops/map.h"

namespace tdseg::ops {

namespace {

struct LogBackward : Node {
  const char* name() const override { return "log"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    // dx = dy / x
    return {binary_map("log_backward", g, inputs[0], fn::LogBackward{})};
  }
};

struct ClampMinBackward : Node {
  double floor;
  explicit ClampMinBackward(double f) : floor(f) {}
  const char* name() const override { return "clamp_min"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    // dx = dy where x > floor, else 0
    return {binary_map("clamp_min_backward", g, inputs[0], fn::ClampMinBackward{floor})};
  }
};

}  // namespace

Tensor log(const Tensor& x) {
  Tensor out = unary_map("log", x, fn::Log{});
  return record(out, {x}, std::make_shared<LogBackward>());
}

Tensor clamp_min(const Tensor& x, double floor) {
  Tensor out = unary_map("clamp_min", x, fn::ClampMin{floor});
  return record(out, {x}, std::make_shared<ClampMinBackward>(floor));
}

}  // namespace tdseg::ops
