// Confusion matrix, IoU, mIoU and pixel accuracy against hand-computed values.
#include <gtest/gtest.h>

#include "tests/check_close.h"
#include "train/metrics.h"

namespace tdseg::testing {
namespace {

Tensor labels(const std::vector<int32_t>& v) {
  return Tensor::from_vector<int32_t>({1, 1, static_cast<int64_t>(v.size())}, v);
}

// truth     0 0 1 1 2 255
// predicted 0 1 1 1 0 2
// M = [[1 1 0]    IoU_0 = 1 / (2 + 2 - 1) = 1/3
//      [0 2 0]    IoU_1 = 2 / (2 + 3 - 2) = 2/3
//      [1 0 0]]   IoU_2 = 0 / (1 + 0 - 0) = 0;  mIoU = 1/3, accuracy = 3/5
TEST(Metrics, HandComputedMatrix) {
  ConfusionMatrix m(3);
  m.add(labels({0, 0, 1, 1, 2, 255}), labels({0, 1, 1, 1, 0, 2}));
  const int64_t want[3][3] = {{1, 1, 0}, {0, 2, 0}, {1, 0, 0}};
  for (int t = 0; t < 3; ++t)
    for (int p = 0; p < 3; ++p) EXPECT_EQ(m.at(t, p), want[t][p]) << t << "," << p;
  EXPECT_EQ(m.total(), 5);
  EXPECT_DOUBLE_EQ(*m.iou(0), 1.0 / 3);
  EXPECT_DOUBLE_EQ(*m.iou(1), 2.0 / 3);
  EXPECT_DOUBLE_EQ(*m.iou(2), 0.0);
  EXPECT_DOUBLE_EQ(m.mean_iou(), 1.0 / 3);
  EXPECT_DOUBLE_EQ(m.pixel_accuracy(), 0.6);
  EXPECT_NE(m.format_iou_table({"bg", "cat"}).find("cat       66.67%"), std::string::npos)
      << m.format_iou_table({"bg", "cat"});
}

// A class in neither the truth nor the predictions has no union and is left out of the mean.
TEST(Metrics, AbsentClassesDoNotCount) {
  ConfusionMatrix m(5);
  m.add(labels({0, 0, 1, 1, 2}), labels({0, 1, 1, 1, 0}));
  EXPECT_FALSE(m.iou(3).has_value());
  EXPECT_FALSE(m.iou(4).has_value());
  EXPECT_DOUBLE_EQ(m.mean_iou(), 1.0 / 3);
  ConfusionMatrix other(5);
  other.add(4, 4, 3);  // perfect on class 4: IoU 1
  m.merge(other);
  EXPECT_DOUBLE_EQ(m.mean_iou(), (1.0 / 3 + 2.0 / 3 + 0 + 1) / 4);
  EXPECT_DOUBLE_EQ(m.pixel_accuracy(), 6.0 / 8);
  EXPECT_DOUBLE_EQ(ConfusionMatrix(2).mean_iou(), 0.0);
}

TEST(Metrics, BadLabelsAreNamed) {
  ConfusionMatrix m(3);
  EXPECT_THROW_MSG(m.add(labels({0, 7}), labels({0, 1})), ValueError, "label 7 at pixel 1");
  EXPECT_THROW_MSG(m.add(labels({0, 1}), labels({0, 3})), ValueError, "prediction 3");
  EXPECT_THROW_MSG(m.add(labels({0, 1}), labels({0})), ShapeError, "differ in shape");
}

TEST(Metrics, ArgmaxTakesTheFirstMaximum) {
  // [1, 3, 1, 2]: pixel 0 scores (1, 5, 5) -> 1, pixel 1 scores (2, 0, 1) -> 0.
  const Tensor s = Tensor::from_vector<float>({1, 3, 1, 2}, {1, 2, 5, 0, 5, 1});
  const Tensor a = argmax_classes(s);
  EXPECT_EQ(a.shape(), (Shape{1, 1, 2}));
  EXPECT_EQ(a.data<int32_t>()[0], 1);
  EXPECT_EQ(a.data<int32_t>()[1], 0);
}

}  // namespace
}  // namespace tdseg::testing
