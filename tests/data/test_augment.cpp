// Augmentation: the mask follows the image through scale, pad, crop and flip (a mask
// drawn from the image stays its threshold); the resize is resize_bilinear's; evaluation
// pads at the bottom and right; normalisation is (x - mean) / std.
#include <gtest/gtest.h>

#include <cmath>

#include "core/ops/resize.h"
#include "data/augment.h"
#include "tests/check_close.h"

namespace tdseg::testing {
namespace {

constexpr double kPi = 3.14159265358979323846;

// A smooth red channel (waves of about 35 px), noise in green and blue, and the mask
// red > 128: where the image goes, the mask must follow.
Sample drawn_mask_sample(int64_t H, int64_t W, Generator& gen) {
  Sample s{Tensor::empty({3, H, W}), Tensor::empty({H, W}, DType::Int32), "drawn"};
  const double phase = gen.uniform(0, 2 * kPi), fy = gen.uniform(0.5, 1.0);
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x) {
      const double red = 128 + 100 * std::sin(2 * kPi * (1.5 * x / W + fy * y / H) + phase);
      float* p = s.image.data<float>();
      p[y * W + x] = static_cast<float>(red);
      p[(H + y) * W + x] = static_cast<float>(gen.uniform(0, 255));
      p[(2 * H + y) * W + x] = static_cast<float>(gen.uniform(0, 255));
      s.mask.data<int32_t>()[y * W + x] = red > 128;
    }
  return s;
}

TEST(Augment, MaskFollowsTheImage) {
  Generator data_gen(21);
  const Sample s = drawn_mask_sample(37, 53, data_gen);
  LoaderOptions o;
  o.crop = {41, 45};
  o.mean = {11.f, 22.f, 33.f};
  int64_t padded_seen = 0;
  for (uint64_t seed = 0; seed < 24; ++seed) {
    Generator gen(seed);
    const Sample a = augment_train(s, o, gen);
    ASSERT_EQ(a.image.shape(), (Shape{3, 41, 45}));
    ASSERT_EQ(a.mask.shape(), (Shape{41, 45}));
    const float* img = a.image.data<float>();
    const int32_t* m = a.mask.data<int32_t>();
    int64_t checked = 0;
    for (int64_t k = 0; k < 41 * 45; ++k) {
      if (m[k] == 255) {  // padding: the mean pixel in the image
        ++padded_seen;
        for (int64_t c = 0; c < 3; ++c) ASSERT_EQ(img[c * 41 * 45 + k], o.mean[c]);
        continue;
      }
      const float red = img[k];
      // Bilinear and nearest sampling may disagree within half a source pixel of the
      // threshold: at most ~19 levels of red at the steepest, so 25 is the margin.
      if (std::abs(red - 128) < 25) continue;
      ASSERT_EQ(m[k], red > 128 ? 1 : 0) << "seed " << seed << " pixel " << k;
      ++checked;
    }
    EXPECT_GT(checked, 41 * 45 / 4) << "seed " << seed;
  }
  EXPECT_GT(padded_seen, 0);  // scales below ~1.1 pad
}

TEST(Augment, FlipsSomeSamples) {
  // Scale 1 and a crop of the whole image: the result is the image or its mirror.
  Generator gen(25);
  Sample s{Tensor::uniform({3, 4, 6}, gen, 0, 255), Tensor::zeros({4, 6}, DType::Int32), "f"};
  LoaderOptions o;
  o.crop = {4, 6};
  o.min_scale = o.max_scale = 1;
  int64_t flips = 0;
  for (uint64_t seed = 0; seed < 24; ++seed) {
    Generator g(seed);
    const Sample a = augment_train(s, o, g);
    const bool flipped = a.image.data<float>()[0] == s.image.data<float>()[5];
    EXPECT_TRUE(
        all_close(a.image, resample_window(s, 4, 6, 0, 0, 4, 6, flipped, {0, 0, 0}).image, 0, 0));
    flips += flipped;
  }
  EXPECT_GT(flips, 3);  // binomial(24, 0.5): outside [4, 20] with probability 1.5e-3
  EXPECT_LT(flips, 21);
}

TEST(Augment, FlipMirrorsAndScaleIsResizeBilinear) {
  Generator gen(22);
  const int64_t H = 9, W = 14;
  Sample s{Tensor::uniform({3, H, W}, gen, 0, 255), Tensor::empty({H, W}, DType::Int32), "r"};
  for (int64_t k = 0; k < H * W; ++k)
    s.mask.data<int32_t>()[k] = static_cast<int32_t>(gen.integer(0, 6));
  const int64_t sh = 20, sw = 11;
  const Sample full = resample_window(s, sh, sw, 0, 0, sh, sw, false, {0, 0, 0});
  const Tensor expected =
      ops::resize_bilinear(s.image.reshape({1, 3, H, W}), sh, sw).reshape({3, sh, sw});
  EXPECT_TRUE(all_close(full.image, expected, 1e-3, 1e-5));  // float32 rounding
  for (int64_t y = 0; y < sh; ++y)
    for (int64_t x = 0; x < sw; ++x) {  // nearest with align_corners: the rounded source
      const int64_t sy = std::lround(y * (H - 1.0) / (sh - 1)),
                    sx = std::lround(x * (W - 1.0) / (sw - 1));
      ASSERT_EQ(full.mask.data<int32_t>()[y * sw + x], s.mask.data<int32_t>()[sy * W + sx]);
    }
  // A window with a flip is the mirrored window of the full resample.
  const Sample win = resample_window(s, sh, sw, 3, 2, 6, 7, true, {0, 0, 0});
  for (int64_t y = 0; y < 6; ++y)
    for (int64_t x = 0; x < 7; ++x) {
      const int64_t fy = 3 + y, fx = 2 + (6 - x);
      ASSERT_EQ(win.mask.data<int32_t>()[y * 7 + x], full.mask.data<int32_t>()[fy * sw + fx]);
      for (int64_t c = 0; c < 3; ++c)
        ASSERT_EQ(win.image.data<float>()[(c * 6 + y) * 7 + x],
                  full.image.data<float>()[(c * sh + fy) * sw + fx]);
    }
}

TEST(Augment, EvaluationPadsBottomRight) {
  Generator gen(23);
  Sample s{Tensor::uniform({3, 5, 4}, gen, 0, 255), Tensor::empty({5, 4}, DType::Int32), "e"};
  for (int64_t k = 0; k < 20; ++k)
    s.mask.data<int32_t>()[k] = static_cast<int32_t>(gen.integer(0, 3));
  LoaderOptions o;
  o.augment = false;
  o.crop = {7, 6};
  o.mean = {1.f, 2.f, 3.f};
  const Sample p = prepare_eval(s, o);
  ASSERT_EQ(p.image.shape(), (Shape{3, 7, 6}));
  for (int64_t y = 0; y < 7; ++y)
    for (int64_t x = 0; x < 6; ++x) {
      const bool inside = y < 5 && x < 4;
      ASSERT_EQ(p.mask.data<int32_t>()[y * 6 + x],
                inside ? s.mask.data<int32_t>()[y * 4 + x] : 255);
      for (int64_t c = 0; c < 3; ++c)
        ASSERT_EQ(p.image.data<float>()[(c * 7 + y) * 6 + x],
                  inside ? s.image.data<float>()[(c * 5 + y) * 4 + x] : o.mean[c]);
    }
  o.crop = {0, 0};
  EXPECT_TRUE(prepare_eval(s, o).image.same(s.image));
  o.crop = {4, 6};
  EXPECT_THROW_MSG(
      prepare_eval(s, o), ValueError,
      "loader: sample e is 5x4 (HxW), larger than the crop 4x6; evaluation pads to the "
      "crop: use a crop of at least every image, or crop 0 (none) with batch size 1");
}

TEST(Augment, Normalise) {
  Generator gen(24);
  const Tensor x = Tensor::uniform({3, 4, 5}, gen, 0, 255);
  const Tensor y = normalise(x, {10.f, 20.f, 30.f}, {2.f, 4.f, 8.f});
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t k = 0; k < 20; ++k)
      EXPECT_FLOAT_EQ(y.data<float>()[c * 20 + k],
                      (x.data<float>()[c * 20 + k] - 10.f * (c + 1)) / float(2 << c));
}

}  // namespace
}  // namespace tdseg::testing
