// The fuzz targets' first corpus: valid files of each kind, written by tdseg's own writers
// and the data tests' fixtures. Usage: fuzz_seeds DIR (writes DIR/<target>/<name>).
#include <filesystem>
#include <iostream>

#include "core/npy.h"
#include "core/safetensors.h"
#include "data/png_chunks.h"
#include "layers/conv2d.h"
#include "tests/data/fixtures.h"
#include "train/config.h"
#include "train/run_checkpoint.h"

namespace {

using namespace tdseg;
using namespace tdseg::testing;

void image_seeds(const std::string& dir, Generator& gen) {
  for (int channels : {1, 3})
    write_png_in(dir + "png" + std::to_string(channels), 5, 3, channels,
                 random_bytes(5 * 3 * channels, gen));
  const auto palette = voc_palette();
  const std::vector<std::array<uint8_t, 3>> sixteen(palette.begin(), palette.begin() + 16);
  write_bytes(dir + "palette4",
              indexed_png(7, 3, 4, kPngPalette, sixteen, random_bytes(7 * 3, gen, 0, 15)));
  write_bytes(dir + "gray1", indexed_png(9, 2, 1, kPngGray, {}, random_bytes(9 * 2, gen, 0, 1)));
  write_jpeg(dir + "baseline", 9, 7, random_bytes(9 * 7 * 3, gen));
  write_bytes(dir + "progressive", progressive_jpeg());
}

void tensor_seeds(const std::string& npy, const std::string& safetensors, Generator& gen) {
  const Tensor f32 = Tensor::randn({2, 3}, gen);
  const Tensor f64 = Tensor::randn({5}, gen, DType::Float64);
  const Tensor i32 = Tensor::uniform({2, 2, 2}, gen, -50, 50).to(DType::Int32);
  save_npy(npy + "f32", f32);
  save_npy(npy + "f64", f64);
  save_npy(npy + "i32", i32);
  save_safetensors(safetensors + "three", {{"a.weight", f32}, {"b", f64}, {"c", i32}},
                   {{"format", "pt"}});
}

void config_seeds(const std::string& config, const std::string& checkpoint, Generator& gen) {
  const std::string defaults = default_config().dump(1);
  write_bytes(config + "defaults", {defaults.begin(), defaults.end()});
  const std::string some =
      R"({"train.iters": 5, "model": {"head": "ss", "std": {"iters": 3, "star_class": 1}},)"
      R"( "eval.multi_scale": [0.5, 1.0]})";
  write_bytes(config + "some", {some.begin(), some.end()});

  ModuleGroup model;
  model.add("logits", std::make_shared<Conv2d>(4, 3, 1, ops::Conv2dOptions{}, true, gen));
  CheckpointInfo info;
  info.config = nlohmann::json::parse(some);
  info.classes = 3;
  info.star_class = 1;
  info.step = 17;
  info.best_miou = 0.25;
  info.best_step = 10;
  info.miou = 0.125;
  save_run_checkpoint(checkpoint + "run", model, nullptr, info);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_seeds DIR\n";
    return 2;
  }
  const std::string dir = std::string(argv[1]) + "/";
  for (const char* target : {"image", "npy", "safetensors", "config", "checkpoint"})
    std::filesystem::create_directories(dir + target);
  Generator gen(2026);
  image_seeds(dir + "image/", gen);
  tensor_seeds(dir + "npy/", dir + "safetensors/", gen);
  config_seeds(dir + "config/", dir + "checkpoint/", gen);
  return 0;
}
