// A dataset of (image file, mask file) pairs: what VOC, Cityscapes, ISIC and the folder
// format become once their layout is listed. get() reads both files, maps the stored mask
// values to labels through a 256-entry table and checks the pair: the mask's size must
// be the image's, and every stored value must map to a label (an IOError naming the mask
// file, the value and the pixel otherwise).
#pragma once
#include <array>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace tdseg {

struct LabelMap {
  std::array<int32_t, 256> to;  // stored value -> label in [0, classes) or 255; -1: invalid
  std::string invalid;          // what is wrong with an invalid value, for the message

  // Labels stored as themselves: [0, classes) and the ignore label 255.
  static LabelMap identity(int64_t classes);
};

struct PairFiles {
  std::string id, image, mask;
};

struct PairSpec {
  std::string name;  // for reports: "voc train"
  int64_t classes = 0;
  std::vector<std::string> class_names;
  int64_t star_class = -1;
  LabelMap labels;
  std::vector<PairFiles> files;
};

class PairDataset : public Dataset {
 public:
  explicit PairDataset(PairSpec spec);
  size_t size() const override { return spec_.files.size(); }
  Sample get(size_t index) const override;
  int64_t classes() const override { return spec_.classes; }
  std::string name() const override { return spec_.name; }
  int64_t star_class() const override { return spec_.star_class; }
  std::vector<std::string> class_names() const override { return spec_.class_names; }

 private:
  PairSpec spec_;
};

}  // namespace tdseg
