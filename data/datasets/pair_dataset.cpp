#include "data/datasets/pair_dataset.h"

#include "core/error.h"
#include "core/ops/loss.h"
#include "data/image.h"

namespace tdseg {

LabelMap LabelMap::identity(int64_t classes) {
  check<ValueError>(classes >= 1 && classes <= 255, "dataset: ", classes,
                    " classes; expected 1 to 255 (255 is the ignore label)");
  LabelMap map;
  for (int32_t v = 0; v < 256; ++v) map.to[v] = v < classes || v == ops::kIgnoreIndex ? v : -1;
  map.invalid =
      cat("is outside [0, ", classes, ") and is not the ignore label ", ops::kIgnoreIndex);
  return map;
}

PairDataset::PairDataset(PairSpec spec) : spec_(std::move(spec)) {}

Sample PairDataset::get(size_t index) const {
  check<ValueError>(index < size(), spec_.name, ": sample ", index, " of ", size());
  const PairFiles& f = spec_.files[index];
  Sample s{read_image(f.image), read_mask(f.mask), f.id};
  const int64_t H = s.image.size(1), W = s.image.size(2);
  check<IOError>(s.mask.size(0) == H && s.mask.size(1) == W, f.mask, ": mask of ", s.mask.size(1),
                 "x", s.mask.size(0), " pixels, but its image ", f.image, " is ", W, "x", H);
  int32_t* m = s.mask.data<int32_t>();
  for (int64_t k = 0; k < H * W; ++k) {
    const int32_t label = spec_.labels.to[m[k]];  // read_mask's values are in [0, 255]
    check<IOError>(label >= 0, f.mask, ": label ", m[k], " at (", k % W, ", ", k / W, ") ",
                   spec_.labels.invalid);
    m[k] = label;
  }
  return s;
}

}  // namespace tdseg
