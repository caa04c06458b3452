#include "data/dataset.h"

#include "core/error.h"
#include "data/datasets/file_datasets.h"
#include "data/datasets/synthetic.h"

namespace tdseg {

std::unique_ptr<Dataset> make_dataset(const DatasetOptions& o) {
  if (o.format == "synthetic") {
    check<ValueError>(o.list.empty(), "dataset: the synthetic data take no list file");
    return std::make_unique<SyntheticDataset>(o.split, o.synthetic_size, o.seed);
  }
  if (o.format == "voc") return make_voc(o);
  if (o.format == "cityscapes") return make_cityscapes(o);
  if (o.format == "isic") return make_isic(o);
  if (o.format == "folder") return make_folder(o);
  throw ValueError(
      cat("dataset: unknown format '", o.format, "' (synthetic, voc, cityscapes, isic, folder)"));
}

}  // namespace tdseg
