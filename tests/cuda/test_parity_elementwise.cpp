// CPU/GPU parity of the elementwise, scalar and pointwise ops and of dropout (tolerance
// 1e-6 relative: the same functors, and the same dropout masks, run on both devices, so
// only the compilers' rounding differs).
#include <gtest/gtest.h>

#include "core/ops.h"
#include "tests/cuda/gpu.h"
#include "tests/cuda/parity.h"

namespace tdseg::testing {
namespace {

std::vector<ParityCase> cases() {
  using V = const std::vector<Tensor>&;
  const Shape odd = {2, 3, 17, 13}, big = {16, 21, 33, 33};
  return {
      {"add", {randn_input(odd), randn_input(odd)}, [](V x) { return ops::add(x[0], x[1]); }},
      {"sub", {randn_input(big), randn_input(big)}, [](V x) { return ops::sub(x[0], x[1]); }},
      {"mul", {randn_input(odd), randn_input(odd)}, [](V x) { return ops::mul(x[0], x[1]); }},
      {"scale", {randn_input({1, 1, 5, 7})}, [](V x) { return ops::scale(x[0], -1.5); }},
      {"relu", {randn_input(big)}, [](V x) { return ops::relu(x[0]); }},
      {"relu float64", {randn_input(odd, DType::Float64)}, [](V x) { return ops::relu(x[0]); }},
      {"log", {uniform_input(odd, 0.1, 3.0)}, [](V x) { return ops::log(x[0]); }},
      {"clamp_min", {randn_input(odd)}, [](V x) { return ops::clamp_min(x[0], 0.25); }},
      {"add_scalar", {randn_input(odd)}, [](V x) { return ops::add_scalar(x[0], 0.75); }},
      {"mul_scalar", {randn_input(odd), uniform_input({}, 0.5, 2.0)},
       [](V x) { return ops::mul_scalar(x[0], x[1]); }},
      {"div_scalar", {randn_input(odd), uniform_input({}, 0.5, 2.0)},
       [](V x) { return ops::div_scalar(x[0], x[1]); }},
      // A generator made afresh on each device: the same key, so the same mask.
      {"dropout", {randn_input(big)}, [](V x) {
         Generator gen(7);
         return ops::dropout(x[0], 0.9, gen);
       }},
      {"dropout float64", {randn_input(odd, DType::Float64)}, [](V x) {
         Generator gen(8);
         return ops::dropout(x[0], 0.5, gen);
       }},
  };
}

TEST(GpuParity, Elementwise) {
  TDSEG_REQUIRE_GPU();
  for (ParityCase c : cases()) {
    c.atol = 1e-6;
    c.rtol = 1e-6;
    expect_parity(c);
  }
}

}  // namespace
}  // namespace tdseg::testing
