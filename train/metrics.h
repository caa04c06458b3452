// Segmentation metrics from a confusion matrix M (classes x classes, int64 counts):
// M[t][p] counts the pixels of true class t predicted as p; pixels labelled 255 are
// ignored. For class c, with TP = M[c][c], FN = row sum - TP, FP = column sum - TP:
//   IoU_c    = TP / (TP + FP + FN)                        (undefined when the union is 0)
//   mIoU     = mean of IoU_c over the classes whose union TP + FP + FN is not 0, as the
//              reference's tf.metrics.mean_iou does (a class absent from both the ground
//              truth and the predictions neither helps nor hurts)
//   accuracy = sum_c M[c][c] / sum_{t,p} M[t][p]           (pixel accuracy)
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tdseg {

class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(int64_t classes);
  // labels and predictions: int32 tensors of equal shape; a label outside [0, classes)
  // other than 255, or a prediction outside [0, classes), is a ValueError naming it.
  void add(const Tensor& labels, const Tensor& predictions);
  void add(int64_t truth, int64_t predicted, int64_t count = 1);
  void merge(const ConfusionMatrix& other);

  int64_t classes() const { return classes_; }
  int64_t at(int64_t truth, int64_t predicted) const { return m_[truth * classes_ + predicted]; }
  int64_t total() const;
  std::optional<double> iou(int64_t c) const;
  double mean_iou() const;        // 0 when no class has a union
  double pixel_accuracy() const;  // 0 when nothing was counted

  // The matrix and the per-class IoU table as fixed-width text; names may be empty.
  std::string format_matrix(const std::vector<std::string>& names) const;
  std::string format_iou_table(const std::vector<std::string>& names) const;

 private:
  int64_t classes_;
  std::vector<int64_t> m_;
};

// The argmax over dim 1 of [N, C, H, W] (first maximum on ties): int32 [N, H, W].
Tensor argmax_classes(const Tensor& scores);

// "class 3" when names has no entry for c.
std::string class_name(const std::vector<std::string>& names, int64_t c);

}  // namespace tdseg
