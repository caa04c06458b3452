// CPU/GPU parity from one table (ggml's habit): each case names an op, how to make its
// inputs, and its tolerances. expect_parity() draws the inputs on the CPU from a seed,
// copies them to cuda:0, runs the op on both devices, compares the outputs, then
// back-propagates the same random weighting sum(out * R) on both and compares the
// gradient of every floating input. The CPU result is the reference.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tdseg::testing {

using InputMaker = std::function<Tensor(Generator&)>;

InputMaker randn_input(Shape shape, DType dtype = DType::Float32);
InputMaker uniform_input(Shape shape, double lo, double hi, DType dtype = DType::Float32);
InputMaker labels_input(Shape shape, int classes, double ignore_fraction = 0.1);  // int32

struct ParityCase {
  std::string name;
  std::vector<InputMaker> inputs;
  std::function<Tensor(const std::vector<Tensor>&)> op;
  double atol = 1e-5, rtol = 1e-5;  // for outputs and gradients alike
};

void expect_parity(const ParityCase& c, uint64_t seed = 1);

}  // namespace tdseg::testing
