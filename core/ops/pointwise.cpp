// log and clamp_min on the CPU: forward and backward side by side. Both nodes keep only
// their input, from which the backward is recomputed elementwise.
#include "core/ops/pointwise.h"

#include <cmath>

#include "core/autograd.h"
#include "core/ops/map.h"

namespace tdseg::ops {

namespace {

struct LogBackward : Node {
  const char* name() const override { return "log"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    // dx = dy / x
    return {binary_map("log_backward", g, inputs[0], [](auto dy, auto x) { return dy / x; })};
  }
};

struct ClampMinBackward : Node {
  double floor;
  explicit ClampMinBackward(double f) : floor(f) {}
  const char* name() const override { return "clamp_min"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    // dx = dy where x > floor, else 0
    const double f = floor;
    return {binary_map("clamp_min_backward", g, inputs[0], [f](auto dy, auto x) {
      using T = decltype(x);
      return x > T(f) ? dy : T(0);
    })};
  }
};

}  // namespace

Tensor log(const Tensor& x) {
  Tensor out = unary_map("log", x, [](auto v) { return std::log(v); });
  return record(out, {x}, std::make_shared<LogBackward>());
}

Tensor clamp_min(const Tensor& x, double floor) {
  Tensor out = unary_map("clamp_min", x, [floor](auto v) {
    using T = decltype(v);
    return v > T(floor) ? v : T(floor);
  });
  return record(out, {x}, std::make_shared<ClampMinBackward>(floor));
}

}  // namespace tdseg::ops
