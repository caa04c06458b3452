// `tdseg model features`: weights from a checkpoint, features to .npy, equal to the
// library's own backbone; and its refusal of weights that do not cover the backbone.
#include <gtest/gtest.h>

#include "core/autograd.h"
#include "core/npy.h"
#include "layers/checkpoint.h"
#include "models/registry.h"
#include "tests/check_close.h"
#include "tests/tools/cli_run.h"

namespace tdseg::testing {
namespace {

TEST(CliModel, FeaturesUseTheGivenWeights) {
  DeepLabConfig c = model_config("deeplabv3plus-xception-tiny", 21);
  c.seed = 99;  // weights unlike the command's own initialisation
  DeepLabV3Plus model(c);
  {
    Generator gen(1);  // make the running statistics count: evaluation mode uses them
    model.forward(Tensor::randn({2, 3, 33, 33}, gen, DType::Float32, 0.5, 2.0));
  }
  save_checkpoint(dir() + "w.safetensors", model);
  Generator gen(2);
  const Tensor x = Tensor::randn({1, 3, 49, 41}, gen);
  save_npy(dir() + "x.npy", x);
  const Outcome r = tdseg("model features deeplabv3plus-xception-tiny --weights " + dir() +
                          "w.safetensors --input " + dir() + "x.npy --out " + dir() + "f.npy --low-level-out " +
                          dir() + "l.npy");
  ASSERT_EQ(r.code, 0) << r.err;
  model.eval();
  InferenceGuard inference;
  const Xception::Features f = model.backbone().forward(x);
  EXPECT_TRUE(all_close(load_npy(dir() + "f.npy"), f.out, 0, 0));
  EXPECT_TRUE(all_close(load_npy(dir() + "l.npy"), f.low_level, 0, 0));

  // A checkpoint of another width does not cover this backbone: exit 2, one line.
  const DeepLabV3Plus other(model_config("deeplabv3plus-xception-small", 21));
  save_checkpoint(dir() + "small.safetensors", other);
  const Outcome bad = tdseg("model features deeplabv3plus-xception-tiny --weights " + dir() +
                            "small.safetensors --input " + dir() + "x.npy --out " + dir() + "f.npy");
  EXPECT_EQ(bad.code, 2);
  EXPECT_EQ(bad.stderr_lines, 1);
  EXPECT_NE(bad.err.find("does not cover the backbone"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace tdseg::testing
