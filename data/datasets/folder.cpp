#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "data/datasets/file_datasets.h"
#include "data/datasets/listing.h"
#include "data/datasets/pair_dataset.h"

namespace tdseg {

namespace {

const char* const kExtensions[] = {".png", ".jpg", ".jpeg"};

// The image file of `stem`: exactly one of the accepted extensions must exist.
std::string find_image(const std::string& images, const std::string& stem) {
  std::string found;
  for (const char* ext : kExtensions) {
    const std::string path = images + stem + ext;
    if (!std::filesystem::exists(path)) continue;
    check<IOError>(found.empty(), "folder: two images for '", stem, "': ", found, " and ", path);
    found = path;
  }
  // A missing image is reported by get(), naming the first candidate, like every layout.
  return found.empty() ? images + stem + kExtensions[0] : found;
}

}  // namespace

std::unique_ptr<Dataset> make_folder(const DatasetOptions& o) {
  check<ValueError>(o.classes > 0,
                    "folder: the number of classes must be given (data.classes > 0)");
  require_folder(o.root, "folder", "dataset root");
  const std::string split_dir = join(o.root, o.split);
  const std::string dir = std::filesystem::is_directory(split_dir) ? split_dir : o.root;
  const std::string images = join(dir, "images/"), masks = join(dir, "masks/");
  std::vector<std::string> stems;
  if (!o.list.empty()) {
    stems = read_list(o.list);
  } else {
    require_folder(images, "folder", "image folder");
    for (const char* ext : kExtensions)
      for (const std::string& stem : list_stems(images, ext)) stems.push_back(stem);
    std::sort(stems.begin(), stems.end());
    check<IOError>(!stems.empty(), "folder: no .png, .jpg or .jpeg images in ", images);
  }
  PairSpec spec;
  spec.name = "folder " + o.split;
  spec.classes = o.classes;
  spec.labels = LabelMap::identity(o.classes);
  for (const std::string& stem : stems) {
    spec.files.push_back({stem, find_image(images, stem), masks + stem + ".png"});
  }
  return std::make_unique<PairDataset>(std::move(spec));
}

}  // namespace tdseg
