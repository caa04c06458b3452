// The synthetic dataset: a function of (seed, split, index), the same from any thread;
// every class present, exact labels, a star-shaped star class, and colours that do not
// give the class away pixel by pixel (a neighbourhood's mean does much better).
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "data/dataset.h"
#include "data/datasets/synthetic.h"
#include "tests/check_close.h"

namespace tdseg::testing {
namespace {

constexpr int64_t S = SyntheticDataset::kSide;

void expect_same(const Sample& a, const Sample& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_TRUE(all_close(a.image, b.image, 0, 0));
  EXPECT_TRUE(all_close(a.mask, b.mask, 0, 0));
}

TEST(Synthetic, AFunctionOfSeedSplitAndIndex) {
  const SyntheticDataset d("train", 0, 7), again("train", 0, 7);
  EXPECT_EQ(d.size(), 400u);
  EXPECT_EQ(SyntheticDataset("val", 0, 7).size(), 100u);
  EXPECT_EQ(SyntheticDataset("val", 12, 7).size(), 12u);
  const Sample late = d.get(5);
  d.get(0);
  expect_same(late, d.get(5));
  expect_same(late, again.get(5));
  EXPECT_EQ(late.id, "train_00005");
  EXPECT_FALSE(all_close(late.image, d.get(6).image, 0, 0));
  EXPECT_FALSE(all_close(late.mask, SyntheticDataset("train", 0, 8).get(5).mask, 0, 0));
  EXPECT_FALSE(all_close(d.get(0).mask, SyntheticDataset("val", 0, 7).get(0).mask, 0, 0));

  // The same samples from two threads at once.
  std::vector<Sample> a(8), b(8);
  std::thread t1([&] {
    for (size_t i = 0; i < 8; ++i) a[i] = d.get(i);
  });
  std::thread t2([&] {
    for (size_t i = 8; i-- > 0;) b[i] = d.get(i);
  });
  t1.join();
  t2.join();
  for (size_t i = 0; i < 8; ++i) expect_same(a[i], b[i]);
}

// A split of up to kKeptSamples keeps what it draws and hands out copies: a caller that
// changes its copy changes no one else's, and a kept sample is the one drawn afresh (a
// larger split keeps none; sample i depends on its index, not on the split's size).
TEST(Synthetic, KeptSamplesAreTheDrawnOnesAndHandedOutAsCopies) {
  const SyntheticDataset kept("train", 20, 3);
  const SyntheticDataset drawn("train", SyntheticDataset::kKeptSamples + 1, 3);
  Sample first = kept.get(4);
  expect_same(first, drawn.get(4));
  first.image.data<float>()[0] += 1;
  first.mask.data<int32_t>()[0] += 1;
  expect_same(kept.get(4), drawn.get(4));
}

TEST(Synthetic, ClassesAndStarShapedStars) {
  const auto d = make_dataset(DatasetOptions{});  // the default: synthetic train
  EXPECT_EQ(d->classes(), 5);
  EXPECT_EQ(d->star_class(), 1);
  EXPECT_EQ(d->class_names()[1], "star");
  std::vector<int64_t> pixels(5, 0);
  for (size_t i = 0; i < 12; ++i) {
    const Sample s = d->get(i);
    ASSERT_EQ(s.image.shape(), (Shape{3, S, S}));
    ASSERT_EQ(s.mask.shape(), (Shape{S, S}));
    for (int64_t k = 0; k < 3 * S * S; ++k) {
      const float v = s.image.data<float>()[k];
      ASSERT_TRUE(v >= 0 && v <= 255 && v == std::round(v)) << v;  // as a decoded 8-bit image
    }
    const int32_t* m = s.mask.data<int32_t>();
    double cx = 0, cy = 0, n = 0;
    for (int64_t k = 0; k < S * S; ++k) {
      ASSERT_TRUE(m[k] >= 0 && m[k] < 5) << m[k];
      ++pixels[m[k]];
      if (m[k] == 1) cx += k % S, cy += k / S, ++n;
    }
    ASSERT_GT(n, 100) << "sample " << i << " has no star";
    cx /= n, cy /= n;
    // Every point of the segment from a star pixel to the star's centroid is within one
    // pixel of the star (exact star-shapedness holds for the continuous shape).
    auto star_near = [&](double x, double y) {
      for (int64_t dy = -1; dy <= 1; ++dy)
        for (int64_t dx = -1; dx <= 1; ++dx) {
          const int64_t px = std::lround(x) + dx, py = std::lround(y) + dy;
          if (px >= 0 && py >= 0 && px < S && py < S && m[py * S + px] == 1) return true;
        }
      return false;
    };
    for (int64_t k = 0; k < S * S; ++k) {
      if (m[k] != 1) continue;
      for (double t = 0; t <= 1; t += 0.05)
        ASSERT_TRUE(star_near(k % S + t * (cx - k % S), k / S + t * (cy - k / S)))
            << "sample " << i << " pixel " << k;
    }
  }
  for (int64_t c = 0; c < 5; ++c) EXPECT_GT(pixels[c], 12 * S * S / 200) << "class " << c;
  EXPECT_LT(pixels[0], 12 * S * S * 85 / 100);
}

// Nearest-class-mean accuracy of single pixels and of (2r+1)^2 box means, over a few samples.
double mean_colour_accuracy(const Dataset& d, int64_t r) {
  double mean[5][3] = {}, count[5] = {};
  std::vector<Sample> samples;
  for (size_t i = 0; i < 10; ++i) samples.push_back(d.get(i));
  for (const Sample& s : samples)
    for (int64_t k = 0; k < S * S; ++k) {
      const int32_t l = s.mask.data<int32_t>()[k];
      ++count[l];
      for (int c = 0; c < 3; ++c) mean[l][c] += s.image.data<float>()[c * S * S + k];
    }
  for (int l = 0; l < 5; ++l)
    for (int c = 0; c < 3; ++c) mean[l][c] /= count[l];
  double right = 0, total = 0;
  for (const Sample& s : samples)
    for (int64_t y = r; y < S - r; ++y)
      for (int64_t x = r; x < S - r; ++x) {
        double v[3] = {};
        for (int64_t dy = -r; dy <= r; ++dy)
          for (int64_t dx = -r; dx <= r; ++dx)
            for (int c = 0; c < 3; ++c)
              v[c] += s.image.data<float>()[(c * S + y + dy) * S + x + dx] /
                      ((2 * r + 1) * (2 * r + 1));
        int best = 0;
        double best_d = 1e30;
        for (int l = 0; l < 5; ++l) {
          const double e = std::pow(v[0] - mean[l][0], 2) + std::pow(v[1] - mean[l][1], 2) +
                           std::pow(v[2] - mean[l][2], 2);
          if (e < best_d) best_d = e, best = l;
        }
        right += best == s.mask.data<int32_t>()[y * S + x];
        ++total;
      }
  return right / total;
}

TEST(Synthetic, APixelAloneIsAmbiguous) {
  const SyntheticDataset d("val", 0, 3);
  const double pixel = mean_colour_accuracy(d, 0), box = mean_colour_accuracy(d, 2);
  // Measured: about 0.33 and 0.73.
  EXPECT_LT(pixel, 0.45);
  EXPECT_GT(box, pixel + 0.25);
}

TEST(Synthetic, Errors) {
  EXPECT_THROW_MSG(SyntheticDataset("trainval", 0, 0), ValueError,
                   "synthetic: unknown split 'trainval' (train, val)");
  EXPECT_THROW_MSG(SyntheticDataset("train", -1, 0), ValueError, "synthetic: size -1");
  EXPECT_THROW_MSG(SyntheticDataset("val", 3, 0).get(3), ValueError,
                   "synthetic val: sample 3 of 3");
  DatasetOptions o;
  o.list = "ids.txt";
  EXPECT_THROW_MSG(make_dataset(o), ValueError, "the synthetic data take no list file");
}

}  // namespace
}  // namespace tdseg::testing
