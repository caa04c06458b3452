// `tdseg predict`: a checkpoint's segmentation of images as pictures: the mask in the VOC
// palette, an overlay on the image and, for an STD head, a strip comparing the softmax of
// the logits before the head with the head's output.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>

#include "data/image.h"
#include "data/png.h"
#include "layers/std/std_extras.h"
#include "tools/tdseg/commands.h"
#include "train/evaluate.h"
#include "train/run_checkpoint.h"
#include "train/setup.h"
#include "train/visualize.h"

namespace tdseg::cli {

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> input_images(const std::string& input) {
  if (!fs::is_directory(input)) {
    check<IOError>(fs::exists(input), input, ": no such file or folder (--input)");
    return {fs::path(input)};
  }
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(input)) {
    std::string ext = e.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (e.is_regular_file() && (ext == ".png" || ext == ".jpg" || ext == ".jpeg"))
      files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  check<IOError>(!files.empty(), input, ": no .png or .jpg image in the folder (--input)");
  return files;
}

void write_canvas(const fs::path& path, const Canvas& c) {
  write_png(path.string(), c.width(), c.height(), 3, c.pixels());
}

}  // namespace

int cmd_predict(Args& args) {
  const auto checkpoint = args.option("checkpoint");
  const auto input = args.option("input");
  const auto out = args.option("out");
  const std::string file = args.option_or("config", "");
  const std::vector<std::string> sets = args.options("set");
  args.finish(0);
  check<UsageError>(checkpoint && input && out,
                    "predict: --checkpoint, --input and --out are required");
  const RunConfig config =
      checkpoint_config(read_checkpoint_info(*checkpoint), *checkpoint, file, sets);
  check_devices({config});
  const std::vector<fs::path> images = input_images(*input);
  auto model = load_model(config, *checkpoint);
  const DeepLabConfig& mc = model->config();
  const EvalOptions options = eval_options(config);
  check<ValueError>(mc.head.prior != StdPrior::VP || options.volumes != "ground_truth",
                    "config: eval.volumes: predict has no ground truth; VP-STD needs a ratio file ",
                    "(--set eval.volumes=FILE)");
  const Tensor ratios =
      mc.head.prior == StdPrior::VP ? read_volume_ratios(options.volumes, mc.classes) : Tensor();
  std::error_code ec;
  fs::create_directories(*out, ec);
  check<IOError>(fs::is_directory(*out), *out, ": cannot create the output folder (--out)");
  model->eval();
  const bool std_head = mc.head.prior != StdPrior::None;
  const LoaderOptions norm = eval_loader_options(config);
  for (const fs::path& path : images) {
    const Tensor raw = read_image(path.string());
    const int64_t H = raw.size(1), W = raw.size(2);
    Tensor x = raw.clone();
    float* p = x.data<float>();
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t k = 0; k < H * W; ++k)
        p[c * H * W + k] = (p[c * H * W + k] - norm.mean[c]) / norm.std[c];
    StdExtras extras;  // SS-STD: the block estimates the centre; VP-STD: the ratio file
    if (mc.head.prior == StdPrior::VP)
      extras.volumes = volumes_from_ratios(ratios.to(DType::Float32), 1, H, W);
    const Probabilities probs =
        predict_probabilities(*model, x.reshape({1, 3, H, W}), extras, options, std_head);
    const Tensor mask = argmax_classes(probs.head).reshape({H, W});
    const Canvas image = image_canvas(raw);
    const std::string stem = (fs::path(*out) / path.stem()).string();
    write_canvas(stem + "_mask.png", mask_canvas(mask));
    write_canvas(stem + "_overlay.png", overlay(image, mask));
    std::string written = stem + "_mask.png, " + stem + "_overlay.png";
    if (std_head) {
      const Tensor plain = argmax_classes(probs.logits).reshape({H, W});
      write_canvas(stem + "_strip.png", strip({{"image", image},
                                               {"softmax (logits)", mask_canvas(plain)},
                                               {head_name(mc) + " head", mask_canvas(mask)}},
                                              std::max<int64_t>(1, 160 / std::max(H, W))));
      written += ", " + stem + "_strip.png";
    }
    std::printf("%s -> %s\n", path.string().c_str(), written.c_str());
  }
  return 0;
}

}  // namespace tdseg::cli
