// Comparisons that explain themselves: |actual - expected| <= atol + rtol * |expected|
// elementwise, reporting the number of mismatches, the first few with their index, and
// the largest error.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/tensor.h"

namespace tdseg::testing {

inline ::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected,
                                            double atol, double rtol) {
  if (actual.shape() != expected.shape())
    return ::testing::AssertionFailure() << "shape " << shape_str(actual.shape()) << " vs "
                                         << shape_str(expected.shape());
  const Tensor a = actual.to(DType::Float64), e = expected.to(DType::Float64);
  const double *pa = a.data<double>(), *pe = e.data<double>();
  int64_t bad = 0;
  double worst = 0;
  std::ostringstream first;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double err = std::abs(pa[i] - pe[i]);
    worst = std::max(worst, err);
    if (err <= atol + rtol * std::abs(pe[i])) continue;
    if (bad++ < 5) first << "\n  [" << i << "] " << pa[i] << " vs " << pe[i];
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << a.numel() << " elements differ (atol "
                                       << atol << ", rtol " << rtol << "), max error " << worst
                                       << first.str();
}

// max |a - b| / max |b| over two host tensors of one shape: a relative error that the
// elements near 0 do not dominate (for gradients, whose entries span many magnitudes).
inline double relative_error(const Tensor& a, const Tensor& b) {
  const Tensor x = a.to(DType::Float64), y = b.to(DType::Float64);
  double err = 0, scale = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    err = std::max(err, std::abs(x.data<double>()[i] - y.data<double>()[i]));
    scale = std::max(scale, std::abs(y.data<double>()[i]));
  }
  return scale > 0 ? err / scale : err;
}

// The message of the exception `stmt` throws as E, or a failure naming what happened.
#define EXPECT_THROW_MSG(stmt, E, substring)                                          \
  do {                                                                                \
    try {                                                                             \
      stmt;                                                                           \
      ADD_FAILURE() << #stmt " did not throw";                                        \
    } catch (const E& e) {                                                            \
      EXPECT_NE(std::string(e.what()).find(substring), std::string::npos)             \
          << "message: " << e.what();                                                 \
    }                                                                                 \
  } while (0)

}  // namespace tdseg::testing
