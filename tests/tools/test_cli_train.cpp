// `tdseg train | eval | predict` as a user runs them: a short run and its files, eval's
// table, predict's pictures, resume, the NaN stop (exit 1) and bad input (exit 2, one
// line naming the key or file).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <utility>
#include <vector>

#include "data/png.h"
#include "tests/cuda/gpu.h"
#include "tests/data/fixtures.h"
#include "tests/tools/cli_run.h"
#include "train/config.h"

namespace tdseg::testing {
namespace {

namespace fs = std::filesystem;

// Runs tdseg with stdout captured; returns (exit code, stdout).
std::pair<int, std::string> run_out(const std::string& arguments) {
  const std::string out = dir() + "stdout.txt";
  const int status =
      std::system((std::string(TDSEG_BINARY) + " " + arguments + " >" + out + " 2>&1").c_str());
  std::ifstream f(out);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1,
          std::string(std::istreambuf_iterator<char>(f), {})};
}

const char* const kTiny =
    " --set train.iters=4 --set train.batch_size=2 --set data.crop=33 --set data.synthetic_train=8"
    " --set data.synthetic_val=2 --set eval.gallery=1 --set train.checkpoint_every=2 --quiet";

TEST(CliTrain, HelpListsEveryConfigKey) {
  const auto [code, text] = run_out("train --help");
  ASSERT_EQ(code, 0);
  for (const ConfigKey& k : config_keys()) EXPECT_NE(text.find(k.key), std::string::npos) << k.key;
}

TEST(CliTrain, TrainEvalPredictResume) {
  const std::string run = dir() + "run";
  fs::remove_all(run);
  const Outcome t = tdseg("train --out " + run + kTiny);
  ASSERT_EQ(t.code, 0) << t.err;
  for (const char* f : {"config.json", "log.jsonl", "curves.png", "report.md",
                        "checkpoints/step-000002.safetensors",
                        "checkpoints/step-000004.safetensors", "checkpoints/best.safetensors"})
    EXPECT_TRUE(fs::exists(fs::path(run) / f)) << f;

  const auto [code, text] = run_out("eval --checkpoint " + run +
                                    "/checkpoints/step-000004.safetensors"
                                    " --set eval.flip=true --set eval.multi_scale=[0.75,1]");
  EXPECT_EQ(code, 0) << text;
  for (const char* s : {"confusion matrix", "mIoU", "pixel accuracy", "scales 0.75, 1 with flip",
                        "background", "std head"})
    EXPECT_NE(text.find(s), std::string::npos) << s << " in\n" << text;

  // A 40x30 image with a bright square: predict writes its mask, overlay and STD strip.
  std::vector<uint8_t> pixels(40 * 30 * 3, 90);
  for (int y = 5; y < 20; ++y)
    for (int x = 10; x < 25; ++x) pixels[(y * 40 + x) * 3] = 230;
  const std::string images = dir() + "images";
  fs::create_directories(images);
  write_png(images + "/square.png", 40, 30, 3, pixels);
  const Outcome p = tdseg("predict --checkpoint " + run + "/checkpoints/best.safetensors --input " +
                          images + " --out " + dir() + "pred");
  EXPECT_EQ(p.code, 0) << p.err;
  for (const char* f : {"square_mask.png", "square_overlay.png", "square_strip.png"})
    EXPECT_TRUE(fs::exists(fs::path(dir() + "pred") / f)) << f;

  // Resuming the finished run evaluates it again and changes nothing; extending it works.
  EXPECT_EQ(tdseg("train --quiet --resume " + run).code, 0);
  const Outcome more = tdseg("train --quiet --resume " + run + " --set train.iters=6");
  EXPECT_EQ(more.code, 0) << more.err;
  EXPECT_TRUE(fs::exists(fs::path(run) / "checkpoints/step-000006.safetensors"));
}

// Each file layout as a user lays out a downloaded dataset, trained for two steps and
// evaluated from the command line (the folder layout's data.classes once never reached
// the dataset, so no folder of images could be trained on). The class names eval prints
// say which dataset it read.
TEST(CliTrain, TrainsAndEvaluatesOnEachFileLayout) {
  Generator gen(23);
  const ScratchDir scratch("layouts");
  const std::string root = scratch.path();
  const int64_t w = 24, h = 20;
  const auto sample = [&](const std::string& image, const std::string& mask,
                          const std::vector<uint8_t>& labels) {
    const auto rgb = random_bytes(w * h * 3, gen);
    if (image.substr(image.size() - 4) == ".jpg") write_jpeg(image, w, h, rgb);
    else write_png_in(image, w, h, 3, rgb);
    std::vector<uint8_t> m = random_bytes(w * h, gen, 0, static_cast<int>(labels.size()) - 1);
    for (uint8_t& v : m) v = labels[v];
    write_png_in(mask, w, h, 1, m);
  };
  for (int i = 0; i < 4; ++i) {
    const std::string id = "s" + std::to_string(i);
    const bool train = i < 3;
    sample(root + "folder/images/" + id + ".png", root + "folder/masks/" + id + ".png",
           {0, 1, 2, 255});
    sample(root + "voc/JPEGImages/" + id + ".jpg", root + "voc/SegmentationClass/" + id + ".png",
           {0, 5, 15, 255});
    const std::string split = train ? "train/aachen/" : "val/aachen/";
    sample(root + "cityscapes/leftImg8bit/" + split + id + "_leftImg8bit.png",
           root + "cityscapes/gtFine/" + split + id + "_gtFine_labelIds.png", {0, 7, 8, 26});
    const std::string s = train ? "Training" : "Validation";
    sample(root + "isic/ISIC2018_Task1-2_" + s + "_Input/" + id + ".jpg",
           root + "isic/ISIC2018_Task1_" + s + "_GroundTruth/" + id + "_segmentation.png",
           {0, 255});
  }
  fs::create_directories(root + "voc/ImageSets/Segmentation");
  std::ofstream(root + "voc/ImageSets/Segmentation/train.txt") << "s0\ns1\ns2\n";
  std::ofstream(root + "voc/ImageSets/Segmentation/val.txt") << "s3\n";

  const struct {
    const char* format;
    const char* extra;
    const char* class_name;
  } layouts[] = {{"folder", " --set data.classes=3", "class 2"},
                 {"voc", "", "aeroplane"},
                 {"cityscapes", "", "sidewalk"},
                 {"isic", "", "lesion"}};
  for (const auto& l : layouts) {
    SCOPED_TRACE(l.format);
    const std::string run = root + "run-" + l.format;
    const Outcome t = tdseg(std::string("train --quiet --out ") + run + " --set data.format=" +
                           l.format + " --set data.root=" + root + l.format + l.extra +
                           " --set model.name=deeplabv3plus-xception-tiny --set train.iters=2"
                           " --set train.batch_size=2 --set data.crop=17 --set eval.gallery=1");
    ASSERT_EQ(t.code, 0) << t.err;
    const auto [code, text] = run_out("eval --checkpoint " + run + "/checkpoints/best.safetensors");
    EXPECT_EQ(code, 0) << text;
    EXPECT_NE(text.find(l.class_name), std::string::npos) << text;
    EXPECT_NE(text.find("mIoU"), std::string::npos) << text;
  }
}

// --compare, the README main job's path at a tiny size: one run folder per head, the
// side-by-side table on stdout (each head's column, the mIoU and the loader's share of the
// training time) and the comparison report.
TEST(CliTrain, CompareTrainsEachHeadAndPrintsThemSideBySide) {
  const std::string base = dir() + "compare";
  fs::remove_all(base);
  const auto [code, text] = run_out("train --compare softmax,std --out " + base + kTiny);
  ASSERT_EQ(code, 0) << text;
  for (const char* f : {"softmax/checkpoints/best.safetensors", "std/checkpoints/best.safetensors",
                        "softmax/report.md", "std/report.md", "report.md"})
    EXPECT_TRUE(fs::exists(fs::path(base) / f)) << f;
  const size_t table = text.find("final validation mIoU side by side");
  ASSERT_NE(table, std::string::npos) << text;
  for (const char* row : {"head", "softmax", "std", "mIoU", "training time", "loader wait"})
    EXPECT_NE(text.find(row, table), std::string::npos) << row << " in\n" << text;
}

TEST(CliTrain, DivergenceExitsOneNamingTheIteration) {
  const Outcome r = tdseg("train --out " + dir() + "nan" + kTiny + " --set train.lr=1e30");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.stderr_lines, 1) << r.err;
  EXPECT_NE(r.err.find("iteration"), std::string::npos) << r.err;
}

TEST(CliTrain, BadInputIsOneLineNamingTheCulprit) {
  std::vector<std::pair<std::string, std::string>> cases = {
      {"train --set train.lrr=0.1", "train.lrr"},
      {"train --set train.iters=abc", "train.iters"},
      {"train --set model.name=resnet50", "model.name"},
      {"train --set device=tpu", "device"},
      {"train --config " + dir() + "missing.json", "missing.json"},
      {"train --config " + ::testing::TempDir(), "is a folder, not a file"},
      {"train --resume " + dir() + "nowhere", "nowhere"},
      {"train --compare softmax,crf", "crf"},
      {"train --bogus", "--bogus"},
      {"eval", "--checkpoint"},
      {"eval --checkpoint " + dir() + "missing.safetensors", "missing.safetensors"},
      {"eval --checkpoint " + ::testing::TempDir(), "is a folder, not a file"},
      {"predict --checkpoint x", "--input"},
  };
  if (!gpu_unavailable().empty()) {  // says why, before any work
    cases.emplace_back("train --set device=cuda", "device");
    cases.emplace_back("train --set device=cuda --compare softmax,std", "device");
  }
  for (const auto& [args, culprit] : cases) {
    const Outcome r = tdseg(args);
    EXPECT_EQ(r.code, 2) << args << ": " << r.err;
    EXPECT_EQ(r.stderr_lines, 1) << args << ": " << r.err;
    EXPECT_NE(r.err.find(culprit), std::string::npos) << args << ": " << r.err;
  }
}

}  // namespace
}  // namespace tdseg::testing
