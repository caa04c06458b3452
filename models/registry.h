// The model registry: names -> configs. One code path for every member; the small ones
// differ only in width (channel multiplier), depth (middle-flow modules) and head sizes.
//   deeplabv3plus-xception65       the paper's network (width 1, 16 middle modules)
//   deeplabv3plus-xception41       8 middle modules
//   deeplabv3plus-xception-small   width 1/4, 4 middle modules, ASPP/decoder 64
//   deeplabv3plus-xception-tiny    width 1/8, 2 middle modules, ASPP/decoder 32
// A prefix selects the STD head of the paper: "std-", "vp-std-" or "ss-std-" (e.g.
// std-deeplabv3plus-xception65), with the block's defaults (SS-STD: T = 50).
#pragma once
#include <string>
#include <vector>

#include "models/deeplab.h"

namespace tdseg {

// Throws ValueError naming the unknown model and listing the known ones.
DeepLabConfig model_config(const std::string& name, int64_t classes, int64_t output_stride = 16);
std::vector<std::string> model_names();
// The name without its head prefix: "ss-std-deeplabv3plus-xception65" -> "deeplabv3plus-xception65".
std::string model_family(const std::string& name);

}  // namespace tdseg
