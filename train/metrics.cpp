#include "train/metrics.h"

#include <algorithm>
#include <cstdio>

#include "core/ops/loss.h"

namespace tdseg {

ConfusionMatrix::ConfusionMatrix(int64_t classes) : classes_(classes), m_(classes * classes, 0) {
  check<ValueError>(classes >= 1 && classes <= 255, "metrics: classes must be in [1, 255], got ",
                    classes);
}

void ConfusionMatrix::add(int64_t truth, int64_t predicted, int64_t count) {
  check<ValueError>(truth >= 0 && truth < classes_ && predicted >= 0 && predicted < classes_,
                    "metrics: pair (", truth, ", ", predicted, ") outside [0, ", classes_, ")");
  m_[truth * classes_ + predicted] += count;
}

void ConfusionMatrix::add(const Tensor& labels, const Tensor& predictions) {
  check<DTypeError>(labels.dtype() == DType::Int32 && predictions.dtype() == DType::Int32,
                    "metrics: labels and predictions must be int32, got ", labels.str(), " and ",
                    predictions.str());
  check<ShapeError>(labels.shape() == predictions.shape(), "metrics: labels ",
                    shape_str(labels.shape()), " and predictions ", shape_str(predictions.shape()),
                    " differ in shape");
  const Tensor l = labels.contiguous(), p = predictions.contiguous();
  const int32_t* pl = l.data<int32_t>();
  const int32_t* pp = p.data<int32_t>();
  for (int64_t i = 0; i < l.numel(); ++i) {
    if (pl[i] == ops::kIgnoreIndex) continue;
    check<ValueError>(pl[i] >= 0 && pl[i] < classes_, "metrics: label ", pl[i], " at pixel ", i,
                      " outside [0, ", classes_, ") and not 255");
    check<ValueError>(pp[i] >= 0 && pp[i] < classes_, "metrics: prediction ", pp[i], " at pixel ",
                      i, " outside [0, ", classes_, ")");
    ++m_[pl[i] * classes_ + pp[i]];
  }
}

void ConfusionMatrix::merge(const ConfusionMatrix& other) {
  check<ValueError>(other.classes_ == classes_, "metrics: cannot merge ", other.classes_,
                    " classes into ", classes_);
  for (size_t i = 0; i < m_.size(); ++i) m_[i] += other.m_[i];
}

int64_t ConfusionMatrix::total() const {
  int64_t t = 0;
  for (int64_t v : m_) t += v;
  return t;
}

std::optional<double> ConfusionMatrix::iou(int64_t c) const {
  int64_t row = 0, col = 0;
  for (int64_t k = 0; k < classes_; ++k) {
    row += at(c, k);
    col += at(k, c);
  }
  const int64_t tp = at(c, c), uni = row + col - tp;
  if (uni == 0) return std::nullopt;
  return static_cast<double>(tp) / uni;
}

double ConfusionMatrix::mean_iou() const {
  double sum = 0;
  int64_t n = 0;
  for (int64_t c = 0; c < classes_; ++c)
    if (const auto v = iou(c)) {
      sum += *v;
      ++n;
    }
  return n ? sum / n : 0.0;
}

double ConfusionMatrix::pixel_accuracy() const {
  int64_t diag = 0;
  for (int64_t c = 0; c < classes_; ++c) diag += at(c, c);
  const int64_t t = total();
  return t ? static_cast<double>(diag) / t : 0.0;
}

std::string class_name(const std::vector<std::string>& names, int64_t c) {
  return c < static_cast<int64_t>(names.size()) && !names[c].empty() ? names[c] : cat("class ", c);
}

std::string ConfusionMatrix::format_matrix(const std::vector<std::string>& names) const {
  size_t label = 10;
  for (int64_t c = 0; c < classes_; ++c) label = std::max(label, class_name(names, c).size());
  std::string out = std::string(label, ' ') + "  (rows: truth, columns: prediction)\n";
  char cell[32];
  for (int64_t t = 0; t < classes_; ++t) {
    const std::string n = class_name(names, t);
    out += n + std::string(label - n.size(), ' ');
    for (int64_t p = 0; p < classes_; ++p) {
      std::snprintf(cell, sizeof cell, " %10lld", static_cast<long long>(at(t, p)));
      out += cell;
    }
    out += "\n";
  }
  return out;
}

std::string ConfusionMatrix::format_iou_table(const std::vector<std::string>& names) const {
  size_t label = 5;
  for (int64_t c = 0; c < classes_; ++c) label = std::max(label, class_name(names, c).size());
  std::string out = "class" + std::string(label - 5, ' ') + "     IoU\n";
  char cell[32];
  for (int64_t c = 0; c < classes_; ++c) {
    const std::string n = class_name(names, c);
    const auto v = iou(c);
    if (v)
      std::snprintf(cell, sizeof cell, "  %6.2f%%", 100 * *v);
    else
      std::snprintf(cell, sizeof cell, "  %7s", "-");
    out += n + std::string(label - n.size(), ' ') + cell + "\n";
  }
  std::snprintf(cell, sizeof cell, "  %6.2f%%", 100 * mean_iou());
  out += "mIoU" + std::string(label - 4, ' ') + cell + "\n";
  return out;
}

Tensor argmax_classes(const Tensor& scores) {
  check<ShapeError>(scores.dim() == 4, "argmax_classes: expected [N, C, H, W], got ",
                    shape_str(scores.shape()));
  const int64_t N = scores.size(0), C = scores.size(1), L = scores.size(2) * scores.size(3);
  Tensor out = Tensor::empty({N, scores.size(2), scores.size(3)}, DType::Int32);
  int32_t* po = out.data<int32_t>();
  const Tensor s = scores.contiguous();
  dispatch_floating(s.dtype(), "argmax_classes", [&](auto tag) {
    using T = decltype(tag);
    const T* ps = s.data<T>();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < L; ++i) {
        const T* x = ps + n * C * L + i;
        int32_t best = 0;
        for (int64_t c = 1; c < C; ++c)
          if (x[c * L] > x[best * L]) best = static_cast<int32_t>(c);
        po[n * L + i] = best;
      }
  });
  return out;
}

}  // namespace tdseg
