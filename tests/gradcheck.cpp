#include "tests/gradcheck.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "core/autograd.h"
#include "core/ops.h"

namespace tdseg::testing {

Tensor randn64(const Shape& shape, uint64_t seed, double scale) {
  Generator gen(seed);
  return Tensor::randn(shape, gen, DType::Float64, 0.0, scale);
}

namespace {

// Backpropagates L = sum(f() * R) once, then compares every leaf's gradient with central
// differences of L, perturbing the leaf's elements in place.
void compare(const std::function<Tensor()>& f, const std::vector<Tensor>& leaves,
             const GradCheckOptions& o) {
  for (const Tensor& x : leaves) x.zero_grad();
  Tensor out = f();
  const Tensor R = randn64(out.shape(), 977);
  ops::sum(ops::mul(out, R)).backward();
  auto objective = [&] {
    InferenceGuard no_record;
    return ops::sum(ops::mul(f(), R)).item();
  };
  for (size_t k = 0; k < leaves.size(); ++k) {
    const Tensor& x = leaves[k];
    ASSERT_TRUE(x.grad().defined()) << "leaf " << k << " received no gradient";
    const double* analytic = x.grad().data<double>();
    double* v = x.data<double>();
    int64_t bad = 0, checked = 0;
    double worst = 0;
    std::ostringstream first;
    for (int64_t j = 0; j < x.numel(); ++j) {
      if (std::abs(v[j]) < o.kink) continue;
      const double keep = v[j];
      v[j] = keep + o.eps;
      const double plus = objective();
      v[j] = keep - o.eps;
      const double minus = objective();
      v[j] = keep;
      const double numeric = (plus - minus) / (2 * o.eps);
      const double err = std::abs(analytic[j] - numeric);
      ++checked;
      worst = std::max(worst, err);
      if (err <= o.atol + o.rtol * std::max(std::abs(analytic[j]), std::abs(numeric))) continue;
      if (bad++ < 5) first << "\n  [" << j << "] analytic " << analytic[j] << " numeric " << numeric;
    }
    EXPECT_GT(checked, 0) << "leaf " << k << ": every element was skipped as a kink";
    EXPECT_EQ(bad, 0) << "leaf " << k << " " << shape_str(x.shape()) << ": " << bad << " of "
                      << checked << " gradients differ, max error " << worst << first.str();
  }
}

// Private float64 leaves for the caller's inputs, so its tensors are left alone.
std::vector<Tensor> leaves_of(std::vector<Tensor>& inputs) {
  std::vector<Tensor> leaves;
  for (Tensor& t : inputs) {
    t = t.clone();
    if (t.dtype() == DType::Float64) leaves.push_back(t.set_requires_grad(true));
  }
  return leaves;
}

}  // namespace

void expect_gradients(const OpFn& f, std::vector<Tensor> inputs, const GradCheckOptions& o) {
  const std::vector<Tensor> leaves = leaves_of(inputs);
  compare([&] { return f(inputs); }, leaves, o);
}

void expect_module_gradients(const OpFn& f, const Module& module, std::vector<Tensor> inputs,
                             const GradCheckOptions& o) {
  std::vector<Tensor> leaves = leaves_of(inputs);
  for (const Tensor& p : module.parameters()) {
    ASSERT_EQ(p.dtype(), DType::Float64) << "build the module in float64 to check it";
    leaves.push_back(p);
  }
  compare([&] { return f(inputs); }, leaves, o);
}

}  // namespace tdseg::testing
