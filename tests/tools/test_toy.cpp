// The toy experiment of `tdseg toy` (paper, section 4.1, Fig. 6): STD beats softmax in IoU
// on the noisy star, SS-STD is the most star-shaped, STD's energy never increases, for
// the default parameters and other seeds; and the pieces it is built from.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/check_close.h"
#include "tools/tdseg/toy_experiment.h"

namespace tdseg::testing {
namespace {

using cli::ToyConfig;
using cli::ToyResult;

void expect_paper_claims(const ToyConfig& c) {
  SCOPED_TRACE(::testing::Message() << "size " << c.size << ", seed " << c.seed);
  const ToyResult r = cli::run_toy(c);
  ASSERT_EQ(r.methods.size(), 3u);
  const auto &softmax = r.methods[0], &std = r.methods[1], &ss = r.methods[2];
  EXPECT_EQ(softmax.name, "softmax");
  EXPECT_EQ(std.name, "STD");
  EXPECT_EQ(ss.name, "SS-STD");
  for (const auto& m : r.methods) {
    EXPECT_GT(m.iou, 0) << m.name;
    EXPECT_LE(m.iou, 1) << m.name;
    EXPECT_GE(m.violation, 0) << m.name;
  }
  EXPECT_GT(std.iou, softmax.iou);
  EXPECT_LT(ss.violation, std.violation);
  EXPECT_LT(ss.violation, softmax.violation);
  // Theorem 3.1: the kernel is positive semi-definite, so F + R never increases.
  ASSERT_EQ(r.energy.size(), static_cast<size_t>(c.std_iters + 1));
  for (size_t t = 1; t < r.energy.size(); ++t)
    EXPECT_LE(r.energy[t], r.energy[t - 1] + 1e-9 * std::abs(r.energy[t - 1])) << "t = " << t;
}

TEST(Toy, PaperClaimsHoldForTheDefaults) { expect_paper_claims(ToyConfig{}); }

TEST(Toy, PaperClaimsHoldForOtherSeedsAndSizes) {
  for (uint64_t seed : {2, 7, 12345}) {
    ToyConfig c;
    c.seed = seed;
    expect_paper_claims(c);
  }
  ToyConfig small;  // the size the command-line test uses
  small.size = 32;
  expect_paper_claims(small);
}

TEST(Toy, WithoutNoiseEveryMethodFindsTheObject) {
  ToyConfig c;
  c.size = 40;
  c.noise = 0;
  const ToyResult r = cli::run_toy(c);
  EXPECT_EQ(r.mu[0], 0);  // 2-means of an image of zeros and ones
  EXPECT_EQ(r.mu[1], 1);
  EXPECT_EQ(r.methods[0].iou, 1);  // softmax thresholds exactly at 1/2
  for (const auto& m : r.methods) EXPECT_GT(m.iou, 0.85) << m.name;
}

TEST(Toy, TheMaskIsANonConvexStarAroundTheCentre) {
  ToyConfig c;
  c.size = 64;  // r0 = 17.3: arms reach 1.4 r0 = 24.2 pixels, valleys 0.6 r0 = 10.4
  const ToyResult r = cli::run_toy(c);
  auto at = [&](int64_t x, int64_t y) { return r.mask.data<int32_t>()[y * 64 + x]; };
  EXPECT_EQ(r.cx, 31.5);
  EXPECT_EQ(r.cy, 31.5);
  EXPECT_EQ(at(31, 31), 1);  // the centre
  EXPECT_EQ(at(31, 8), 1);   // the tip of the upward arm
  EXPECT_EQ(at(54, 24), 1);  // the tip of the next arm, 72 degrees clockwise
  EXPECT_EQ(at(43, 16), 0);  // their midpoint lies in the valley between them: not convex
  EXPECT_EQ(at(8, 31), 0);   // left of the centre, between two arms
  EXPECT_EQ(at(0, 0), 0);
}

TEST(Toy, RejectsBadParameters) {
  ToyConfig c;
  c.size = 8;
  EXPECT_THROW_MSG(cli::run_toy(c), ValueError, "toy: size must be >= 16, got 8");
  c.size = 32;
  c.noise = -1;
  EXPECT_THROW_MSG(cli::run_toy(c), ValueError, "toy: noise must be >= 0, got -1");
}

}  // namespace
}  // namespace tdseg::testing
