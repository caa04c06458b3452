// A training checkpoint's metadata (train/run_checkpoint.h): each value read back exactly,
// and each bad one an IOError naming the file, the key and the value.
#include <gtest/gtest.h>

#include "core/safetensors.h"
#include "models/registry.h"
#include "tests/check_close.h"
#include "train/run_checkpoint.h"

namespace tdseg::testing {
namespace {

TEST(RunCheckpoint, MetadataRoundTripsAndEachBadValueNamesItsKey) {
  DeepLabV3Plus model(model_config("deeplabv3plus-xception-tiny", 3));
  CheckpointInfo info;
  info.config = {{"train", {{"iters", 40}}}};
  info.classes = 3;
  info.star_class = 2;
  info.step = 17;
  info.best_miou = 0.1 + 0.2;  // not a short decimal: read back to the bit
  info.best_step = 12;
  info.miou = 1.0 / 3;
  const std::string path = ::testing::TempDir() + "tdseg_run_checkpoint.safetensors";
  save_run_checkpoint(path, model, nullptr, info);
  const CheckpointInfo back = read_checkpoint_info(path);
  EXPECT_EQ(back.config, info.config);
  EXPECT_EQ(back.classes, 3);
  EXPECT_EQ(back.star_class, 2);
  EXPECT_EQ(back.step, 17);
  EXPECT_EQ(back.best_miou, info.best_miou);
  EXPECT_EQ(back.best_step, 12);
  EXPECT_EQ(back.miou, info.miou);

  const SafetensorsFile file = load_safetensors(path);
  const std::string bad = ::testing::TempDir() + "tdseg_run_checkpoint_bad.safetensors";
  const struct {
    const char *key, *value, *message;
  } cases[] = {
      {"tdseg.classes", "abc", "tdseg.classes is 'abc', not a number in [1, 255]"},
      {"tdseg.classes", "999999999999", "tdseg.classes is '999999999999', not a number in [1, 255]"},
      {"tdseg.classes", "3.5", "tdseg.classes is '3.5', not a number in [1, 255]"},
      {"tdseg.classes", "0", "tdseg.classes is '0', not a number in [1, 255]"},
      {"tdseg.step", "-4", "tdseg.step is '-4', not a number in [0, 9223372036854775807]"},
      {"tdseg.best_step", "", "tdseg.best_step is '', not a number in [0, 9223372036854775807]"},
      {"tdseg.best_miou", "nan", "tdseg.best_miou is 'nan', not a number in [0, 1]"},
      {"tdseg.miou", "0.5 ", "tdseg.miou is '0.5 ', not a number in [0, 1]"},
      {"tdseg.miou", "1.5", "tdseg.miou is '1.5', not a number in [0, 1]"},
      {"tdseg.star_class", "3", "tdseg.star_class 3 is not one of its 3 classes"},
      {"tdseg.star_class", "-2", "tdseg.star_class is '-2', not a number in [-1, 254]"},
      {"tdseg.config", "{bad", "tdseg.config is not valid JSON (error at byte 2)"},
      {"tdseg.config", "{\"a\": 1e400}", "tdseg.config is not valid JSON (number overflow parsing '1e400')"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.key + std::string(" = ") + c.value);
    std::map<std::string, std::string> meta = file.metadata;
    meta[c.key] = c.value;
    save_safetensors(bad, file.tensors, meta);
    EXPECT_THROW_MSG(read_checkpoint_info(bad), IOError, bad + ": metadata " + c.message);
  }
}

}  // namespace
}  // namespace tdseg::testing
