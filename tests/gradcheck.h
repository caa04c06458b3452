// The one generic gradient checker. For an op f and float64 inputs, the objective
//   L(inputs) = sum(f(inputs) * R),  R a fixed seeded random tensor of f's output shape,
// is differentiated twice: by the engine (backward) and by central differences,
//   dL/dx_j ~ (L(x_j + eps) - L(x_j - eps)) / (2 eps),
// for every element of every floating input. They must agree within
// atol + rtol * max(|analytic|, |numeric|). Elements with |x_j| < kink are skipped (ReLU).
#pragma once
#include <functional>
#include <vector>

#include "core/tensor.h"
#include "layers/module.h"

namespace tdseg::testing {

struct GradCheckOptions {
  double eps = 1e-6;
  double atol = 1e-7;
  double rtol = 1e-6;
  double kink = 0.0;
};

using OpFn = std::function<Tensor(const std::vector<Tensor>&)>;

// Adds a GoogleTest failure, with the first mismatches, where the gradients disagree.
void expect_gradients(const OpFn& f, std::vector<Tensor> inputs,
                      const GradCheckOptions& options = {});

// The same check for a layer: f(inputs) runs the module, whose float64 parameters are
// checked along with the inputs.
void expect_module_gradients(const OpFn& f, const Module& module, std::vector<Tensor> inputs,
                             const GradCheckOptions& options = {});

// Seeded float64 helpers for tests.
Tensor randn64(const Shape& shape, uint64_t seed, double scale = 1.0);

}  // namespace tdseg::testing
