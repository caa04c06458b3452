// The run configuration: defaults, files, --set overrides and the errors that name the key.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/check_close.h"
#include "train/config.h"
#include "train/setup.h"

#if defined(TDSEG_WITH_CUDA)
#include "cuda/context.h"
#include "cuda/cudnn_conv.h"
#endif

namespace tdseg::testing {
namespace {

using nlohmann::json;

TEST(Config, DefaultsParseAndRoundTrip) {
  const RunConfig c = build_config("", {});
  EXPECT_EQ(c.device, "cpu");
  EXPECT_TRUE(c.cuda.tf32);
  EXPECT_EQ(c.cuda.conv_search, "heuristic");
  EXPECT_EQ(c.data.format, "synthetic");
  EXPECT_EQ(c.model.head, "auto");
  EXPECT_FALSE(c.model.iters.has_value());
  EXPECT_EQ(c.train.optimizer, "sgd");
  EXPECT_DOUBLE_EQ(c.train.momentum, 0.9);
  EXPECT_DOUBLE_EQ(c.train.poly_power, 0.9);
  EXPECT_EQ(c.eval.multi_scale, std::vector<double>{1.0});
  // The effective JSON, as a run writes it, rebuilds the same configuration.
  EXPECT_EQ(parse_config(c.json).json, c.json);
  EXPECT_EQ(c.json.at("train").at("lr"), json(c.train.lr));
}

#if defined(TDSEG_WITH_CUDA)
// cuda.tf32 and cuda.conv_search reach the backend's process-wide settings (no GPU needed:
// they are flags the next convolution reads).
TEST(Config, CudaMathOptionsReachTheBackend) {
  apply_cuda_options(build_config("", {"cuda.tf32=false", "cuda.conv_search=timed"}).cuda);
  EXPECT_FALSE(cuda::allow_tf32());
  EXPECT_EQ(cuda::conv_algo_search(), cuda::ConvAlgoSearch::Timed);
  apply_cuda_options(build_config("", {}).cuda);
  EXPECT_TRUE(cuda::allow_tf32());
  EXPECT_EQ(cuda::conv_algo_search(), cuda::ConvAlgoSearch::Heuristic);
}
#endif

TEST(Config, OverridesParseJsonElseString) {
  const RunConfig c = build_config(
      "", {"train.lr=0.007", "model.head=vp", "eval.flip=true", "eval.multi_scale=[0.75,1,1.25]",
           "model.std.iters=3", "data.root=/data/voc 2012", "train.iters=20"});
  EXPECT_DOUBLE_EQ(c.train.lr, 0.007);
  EXPECT_EQ(c.model.head, "vp");
  EXPECT_TRUE(c.eval.flip);
  EXPECT_EQ(c.eval.multi_scale, (std::vector<double>{0.75, 1, 1.25}));
  EXPECT_EQ(c.model.iters, 3);
  EXPECT_EQ(c.data.root, "/data/voc 2012");
  EXPECT_EQ(c.train.iters, 20);
  // An integer where a number is expected is fine; null resets an optional key.
  EXPECT_DOUBLE_EQ(build_config("", {"train.lr=1"}).train.lr, 1.0);
  EXPECT_FALSE(build_config("", {"model.std.iters=4", "model.std.iters=null"}).model.iters);
}

TEST(Config, FileNestedAndDottedThenOverrides) {
  const std::string path = ::testing::TempDir() + "tdseg_config_file.json";
  std::ofstream(path) << R"({"train": {"lr": 0.02, "iters": 7}, "model.head": "ss",
                            "model": {"std": {"lambda": 2.5}}})";
  const RunConfig c = build_config(path, {"train.iters=9"});
  EXPECT_DOUBLE_EQ(c.train.lr, 0.02);
  EXPECT_EQ(c.train.iters, 9);  // --set wins over the file
  EXPECT_EQ(c.model.head, "ss");
  EXPECT_DOUBLE_EQ(c.model.lambda, 2.5);
}

TEST(Config, ErrorsNameTheKey) {
  EXPECT_THROW_MSG(build_config("", {"train.lrr=0.1"}), ValueError, "'train.lrr'");
  EXPECT_THROW_MSG(build_config("", {"train.iters=abc"}), ValueError,
                   "train.iters must be of type int");
  EXPECT_THROW_MSG(build_config("", {"train.iters=1.5"}), ValueError, "train.iters");
  EXPECT_THROW_MSG(build_config("", {"eval.flip=1"}), ValueError, "eval.flip");
  EXPECT_THROW_MSG(build_config("", {"eval.multi_scale=[]"}), ValueError, "eval.multi_scale");
  EXPECT_THROW_MSG(build_config("", {"train=3"}), ValueError, "'train'");
  EXPECT_THROW_MSG(build_config("", {"train.lr"}), ValueError, "KEY=VALUE");
  // Value checks.
  EXPECT_THROW_MSG(build_config("", {"train.lr=-1"}), ValueError, "train.lr");
  EXPECT_THROW_MSG(build_config("", {"model.head=crf"}), ValueError, "model.head must be one of");
  EXPECT_THROW_MSG(build_config("", {"model.std.kernel_size=4"}), ValueError,
                   "model.std.kernel_size");
  EXPECT_THROW_MSG(build_config("", {"train.batch_size=1"}), ValueError, "train.batch_size");
  for (const char* stride : {"4", "12", "32"})
    EXPECT_THROW_MSG(build_config("", {std::string("model.output_stride=") + stride}), ValueError,
                     std::string("model.output_stride must be 8 or 16, got ") + stride);
  EXPECT_THROW_MSG(build_config("", {"data.format=voc"}), ValueError, "data.root");
  EXPECT_THROW_MSG(build_config("", {"device=tpu"}), ValueError, "device must be cpu, cuda or cuda:N");
  EXPECT_THROW_MSG(build_config("", {"device=cuda:x"}), ValueError, "device must be");
  EXPECT_THROW_MSG(build_config("", {"cuda.conv_search=fast"}), ValueError,
                   "cuda.conv_search must be one of heuristic, timed");
  EXPECT_THROW_MSG(build_config("", {"cuda.tf32=1"}), ValueError, "cuda.tf32");
  // JSON holds UTF-8 only: a Latin-1 path is refused here, not when config.json is written.
  EXPECT_EQ(build_config("", {"data.root=/data/caf\xC3\xA9"}).data.root, "/data/caf\xC3\xA9");
  EXPECT_THROW_MSG(build_config("", {"data.root=/data/caf\xE9"}), ValueError,
                   "--set data.root: '/data/caf\\xE9' is not UTF-8 text");
  EXPECT_THROW_MSG(build_config("", {"da\nta=1"}), ValueError, "--set: unknown config key 'da\\x0Ata'");
  // A well-formed name this machine cannot use fails when the run starts, naming it.
  EXPECT_THROW_MSG(run_device(build_config("", {"device=cuda:99"})), ValueError,
                   "config: device \"cuda:99\": ");
  RunConfig by_hand;  // a config made in C++ rather than parsed
  by_hand.device = "gpu";
  EXPECT_THROW_MSG(run_device(by_hand), ValueError, "device must be cpu, cuda or cuda:N");
  // Files: unknown nested keys, wrong types, unreadable files.
  const std::string path = ::testing::TempDir() + "tdseg_config_bad.json";
  std::ofstream(path) << R"({"model": {"std": {"lamda": 1}}})";
  EXPECT_THROW_MSG(build_config(path, {}), ValueError, "'model.std.lamda'");
  std::ofstream(path) << R"({"data": {"crop": "big"}})";
  EXPECT_THROW_MSG(build_config(path, {}), ValueError, "data.crop");
  std::ofstream(path) << "{not json";
  EXPECT_THROW_MSG(build_config(path, {}), IOError, path + ": not valid JSON (error at byte 3)");
  std::ofstream(path) << R"({"model": {"std": {"lambda": 1e400}}})";
  EXPECT_THROW_MSG(build_config(path, {}), IOError,
                   path + ": not valid JSON (number overflow parsing '1e400')");
  // A key given twice in a file is an error, not the last one read: in one object, or
  // dotted and nested. Two --set of one key are two layers: the last wins.
  std::ofstream(path) << R"({"train": {"iters": 5, "lr": 0.1, "iters": 6}})";
  EXPECT_THROW_MSG(build_config(path, {}), IOError, path + ": the key 'train.iters' appears twice");
  std::ofstream(path) << R"({"model": {"std": {"sigma": 2}, "name": "x", "std": {"eps": 1}}})";
  EXPECT_THROW_MSG(build_config(path, {}), IOError, path + ": the key 'model.std' appears twice");
  std::ofstream(path) << R"({"train": {"it\ners": 5}})";  // a key quoted escaped: one line
  EXPECT_THROW_MSG(build_config(path, {}), ValueError, "unknown config key 'train.it\\x0Aers'");
  std::ofstream(path) << R"({"train": {"iters": 5}, "train.iters": 6})";
  EXPECT_THROW_MSG(build_config(path, {}), ValueError, path + ": train.iters is given twice");
  std::ofstream(path) << R"({"train": {"iters": 5}, "model": {"std": {"iters": 3}}})";
  EXPECT_EQ(build_config(path, {"train.iters=7", "train.iters=8"}).train.iters, 8);
  EXPECT_THROW_MSG(build_config(path + ".missing", {}), IOError, path + ".missing");
}

}  // namespace
}  // namespace tdseg::testing
