#include <map>

#include "core/error.h"
#include "data/datasets/file_datasets.h"
#include "data/datasets/listing.h"
#include "data/datasets/pair_dataset.h"

namespace tdseg {

std::unique_ptr<Dataset> make_isic(const DatasetOptions& o) {
  static const std::map<std::string, std::string> kSplits{
      {"train", "Training"}, {"val", "Validation"}, {"test", "Test"}};
  const auto split = kSplits.find(o.split);
  check<ValueError>(split != kSplits.end(), "isic: unknown split '", o.split,
                    "' (train, val, test)");
  require_folder(o.root, "isic", "dataset root");
  const std::string images = join(o.root, "ISIC2018_Task1-2_" + split->second + "_Input/");
  const std::string masks = join(o.root, "ISIC2018_Task1_" + split->second + "_GroundTruth/");
  std::vector<std::string> ids;
  if (!o.list.empty()) {
    ids = read_list(o.list);
  } else {
    require_folder(images, "isic", "image folder");
    ids = list_stems(images, ".jpg");
    check<IOError>(!ids.empty(), "isic: no .jpg images in ", images);
  }
  PairSpec spec;
  spec.name = "isic " + o.split;
  spec.classes = 2;
  spec.class_names = {"background", "lesion"};
  spec.star_class = 1;  // a lesion is roughly star-shaped about its centroid
  spec.labels.to.fill(-1);
  spec.labels.to[0] = 0;
  spec.labels.to[255] = 1;
  spec.labels.invalid = "is neither 0 (background) nor 255 (lesion)";
  for (const std::string& id : ids)
    spec.files.push_back({id, images + id + ".jpg", masks + id + "_segmentation.png"});
  return std::make_unique<PairDataset>(std::move(spec));
}

}  // namespace tdseg
