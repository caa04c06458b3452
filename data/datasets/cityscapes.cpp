#include "core/error.h"
#include "data/datasets/file_datasets.h"
#include "data/datasets/listing.h"
#include "data/datasets/pair_dataset.h"

namespace tdseg {

namespace {

// labelId -> trainId, from cityscapesScripts' labels.py; every other labelId is ignored.
LabelMap train_ids() {
  LabelMap map;
  map.to.fill(255);
  const int label_ids[19] = {7,  8,  11, 12, 13, 17, 19, 20, 21, 22,
                             23, 24, 25, 26, 27, 28, 31, 32, 33};
  for (int32_t t = 0; t < 19; ++t) map.to[label_ids[t]] = t;
  return map;
}

}  // namespace

std::unique_ptr<Dataset> make_cityscapes(const DatasetOptions& o) {
  require_folder(o.root, "cityscapes", "dataset root");
  const std::string images = join(o.root, "leftImg8bit/" + o.split + "/");
  const std::string masks = join(o.root, "gtFine/" + o.split + "/");
  std::vector<std::string> ids;
  if (!o.list.empty()) {
    ids = read_list(o.list);
  } else {
    require_folder(images, "cityscapes", "split folder");
    for (const std::string& city : list_folders(images))
      for (const std::string& stem : list_stems(images + city, "_leftImg8bit.png"))
        ids.push_back(city + "/" + stem);
    check<IOError>(!ids.empty(), "cityscapes: no *_leftImg8bit.png images under ", images);
  }
  PairSpec spec;
  spec.name = "cityscapes " + o.split;
  spec.classes = 19;
  spec.class_names = {"road", "sidewalk",      "building",     "wall",       "fence",
                      "pole", "traffic light", "traffic sign", "vegetation", "terrain",
                      "sky",  "person",        "rider",        "car",        "truck",
                      "bus",  "train",         "motorcycle",   "bicycle"};
  spec.labels = train_ids();
  for (const std::string& id : ids)
    spec.files.push_back(
        {id, images + id + "_leftImg8bit.png", masks + id + "_gtFine_labelIds.png"});
  return std::make_unique<PairDataset>(std::move(spec));
}

}  // namespace tdseg
