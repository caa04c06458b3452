#include "models/registry.h"

namespace tdseg {

namespace {

struct Family {
  const char* name;
  double width;
  int64_t middle_units, aspp_depth, decoder_depth, projection;
};

const Family kFamilies[] = {
    {"deeplabv3plus-xception65", 1.0, 16, 256, 256, 48},
    {"deeplabv3plus-xception41", 1.0, 8, 256, 256, 48},
    {"deeplabv3plus-xception-small", 0.25, 4, 64, 64, 12},
    {"deeplabv3plus-xception-tiny", 0.125, 2, 32, 32, 6},
};

struct HeadPrefix {
  const char* prefix;
  StdPrior prior;
};

const HeadPrefix kHeads[] = {{"vp-std-", StdPrior::VP}, {"ss-std-", StdPrior::SS}, {"std-", StdPrior::STD}};

}  // namespace

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const char* head : {"", "std-", "vp-std-", "ss-std-"})
    for (const Family& f : kFamilies) names.push_back(head + std::string(f.name));
  return names;
}

std::string model_family(const std::string& name) {
  for (const HeadPrefix& h : kHeads)
    if (name.rfind(h.prefix, 0) == 0) return name.substr(std::string(h.prefix).size());
  return name;
}

DeepLabConfig model_config(const std::string& name, int64_t classes, int64_t output_stride) {
  DeepLabConfig c;
  c.name = name;
  c.classes = classes;
  const std::string family = model_family(name);
  for (const HeadPrefix& h : kHeads)
    if (name.rfind(h.prefix, 0) == 0) {
      c.head = StdConfig();
      c.head.prior = h.prior;
      if (h.prior == StdPrior::SS) c.head.iters = 50;
      break;
    }
  const Family* f = nullptr;
  for (const Family& candidate : kFamilies)
    if (family == candidate.name) f = &candidate;
  if (!f) {
    std::string known;
    for (const std::string& n : model_names()) known += (known.empty() ? "" : ", ") + n;
    throw ValueError("model: unknown model '" + name + "' (known: " + known + ")");
  }
  check<ValueError>(output_stride == 8 || output_stride == 16, "model: output stride ",
                    output_stride, " must be 8 or 16");
  c.backbone.width = f->width;
  c.backbone.middle_units = f->middle_units;
  c.backbone.output_stride = output_stride;
  c.aspp_depth = f->aspp_depth;
  c.decoder_depth = f->decoder_depth;
  c.low_level_projection = f->projection;
  // The reference's rates: 6, 12, 18 at output stride 16, doubled at 8.
  c.atrous_rates = output_stride == 16 ? std::array<int64_t, 3>{6, 12, 18}
                                       : std::array<int64_t, 3>{12, 24, 36};
  return c;
}

}  // namespace tdseg
