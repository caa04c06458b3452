// Datasets: an indexed collection of (image, mask) samples, decoded on demand.
//   image  float32 [3, H, W], RGB in [0, 255] as decoded (normalisation is the loader's)
//   mask   int32 [H, W], class indices in [0, classes), 255 = ignore
// Implementations: the built-in synthetic dataset, PASCAL VOC 2012, Cityscapes, ISIC 2018
// task 1 and a generic folder pair (see make_dataset). get() throws an IOError naming the
// file for a missing, corrupt or truncated image, a mask whose size differs from its
// image, or a label outside [0, classes) that is not 255.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tdseg {

struct Sample {
  Tensor image;    // float32 [3, H, W]
  Tensor mask;     // int32 [H, W]
  std::string id;  // file stem or synthetic index, for reports
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual size_t size() const = 0;
  virtual Sample get(size_t index) const = 0;  // thread-safe: loader workers call it
  virtual int64_t classes() const = 0;
  virtual std::string name() const = 0;
  // The class whose star-shape centre SS-STD uses (ISIC: the lesion), or -1 if none.
  virtual int64_t star_class() const { return -1; }
  // Class names for reports (VOC: "background", "aeroplane", ...); may be empty.
  virtual std::vector<std::string> class_names() const { return {}; }
};

struct DatasetOptions {
  std::string format = "synthetic";  // synthetic, voc, cityscapes, isic, folder
  std::string root;                  // the dataset's folder (unused by synthetic)
  std::string split = "train";       // train, val (VOC: also trainval, trainaug)
  std::string list;                  // optional list file of sample ids, overriding the split's
  int64_t classes = 0;               // folder: the number of classes (required, <= 255)
  int64_t synthetic_size = 0;        // synthetic: samples in the split (0: the default)
  uint64_t seed = 0;                 // synthetic: generation seed
};

// Throws ValueError for an unknown format or split, IOError for a missing root or list.
// The layouts are in data/datasets/file_datasets.h, the synthetic data in
// data/datasets/synthetic.h.
std::unique_ptr<Dataset> make_dataset(const DatasetOptions& options);

}  // namespace tdseg
