#include <algorithm>

#include "core/error.h"
#include "data/datasets/file_datasets.h"
#include "data/datasets/listing.h"
#include "data/datasets/pair_dataset.h"

namespace tdseg {

std::unique_ptr<Dataset> make_voc(const DatasetOptions& o) {
  static const std::vector<std::string> kSplits{"train", "val", "trainval", "trainaug"};
  check<ValueError>(std::find(kSplits.begin(), kSplits.end(), o.split) != kSplits.end(),
                    "voc: unknown split '", o.split, "' (train, val, trainval, trainaug)");
  require_folder(o.root, "voc", "dataset root");
  const std::string masks =
      join(o.root, o.split == "trainaug" ? "SegmentationClassAug/" : "SegmentationClass/");
  const std::string list =
      o.list.empty() ? join(o.root, "ImageSets/Segmentation/" + o.split + ".txt") : o.list;
  PairSpec spec;
  spec.name = "voc " + o.split;
  spec.classes = 21;
  spec.class_names = {
      "background", "aeroplane", "bicycle",     "bird",  "boat",        "bottle", "bus",
      "car",        "cat",       "chair",       "cow",   "diningtable", "dog",    "horse",
      "motorbike",  "person",    "pottedplant", "sheep", "sofa",        "train",  "tvmonitor"};
  spec.labels = LabelMap::identity(spec.classes);
  for (const std::string& id : read_list(list))
    spec.files.push_back({id, join(o.root, "JPEGImages/" + id + ".jpg"), masks + id + ".png"});
  return std::make_unique<PairDataset>(std::move(spec));
}

}  // namespace tdseg
