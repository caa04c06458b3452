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

void expect_gradients(const OpFn& f, std::vector<Tensor> inputs, const GradCheckOptions& o) {
  std::vector<Tensor> leaves;
  for (Tensor& t : inputs) {
    t = t.clone();  // a private leaf, so the caller's tensors are left alone
    if (t.dtype() == DType::Float64) t.set_requires_grad(true);
  }
  Tensor out = f(inputs);
  const Tensor R = randn64(out.shape(), 977);
  ops::sum(ops::mul(out, R)).backward();

  auto objective = [&] {
    InferenceGuard no_record;
    return ops::sum(ops::mul(f(inputs), R)).item();
  };
  for (size_t k = 0; k < inputs.size(); ++k) {
    Tensor& x = inputs[k];
    if (!x.requires_grad()) continue;
    ASSERT_TRUE(x.grad().defined()) << "input " << k << " received no gradient";
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
    EXPECT_GT(checked, 0) << "input " << k << ": every element was skipped as a kink";
    EXPECT_EQ(bad, 0) << "input " << k << " " << shape_str(x.shape()) << ": " << bad << " of "
                      << checked << " gradients differ, max error " << worst << first.str();
  }
}

}  // namespace tdseg::testing
