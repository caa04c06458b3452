// Evaluation: multi-scale and flip averaging, the VP-STD volume ratio files.
#include <gtest/gtest.h>

#include <fstream>

#include "core/autograd.h"
#include "core/npy.h"
#include "core/ops.h"
#include "models/registry.h"
#include "tests/check_close.h"
#include "train/evaluate.h"

namespace tdseg::testing {
namespace {

Tensor mirror(const Tensor& x) {  // [N, C, H, W] reversed along W
  Tensor out = Tensor::empty(x.shape());
  const int64_t W = x.size(3), rows = x.numel() / W;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t w = 0; w < W; ++w)
      out.data<float>()[r * W + w] = x.data<float>()[r * W + W - 1 - w];
  return out;
}

struct Fixture {
  DeepLabV3Plus model{model_config("std-deeplabv3plus-xception-tiny", 3)};
  Tensor x;
  Fixture() {
    Generator gen(3);
    model.forward(Tensor::randn({2, 3, 41, 37}, gen));  // running statistics worth using
    model.eval();
    x = Tensor::randn({1, 3, 41, 37}, gen);
  }
};

TEST(Evaluate, SingleScaleIsTheSoftmaxOfTheOutput) {
  Fixture f;
  InferenceGuard inference;
  const Probabilities p = predict_probabilities(f.model, f.x, {}, EvalOptions{}, true);
  EXPECT_TRUE(all_close(p.head, ops::softmax(f.model.forward(f.x)), 0, 0));
  EXPECT_EQ(p.logits.shape(), p.head.shape());
}

// With flip, the prediction of the mirrored image is the mirrored prediction, exactly; over
// several scales the averaged probabilities still sum to 1 at every pixel.
TEST(Evaluate, FlipAndScalesAverage) {
  Fixture f;
  EvalOptions o;
  o.flip = true;
  const Tensor p = predict_probabilities(f.model, f.x, {}, o).head;
  const Tensor q = predict_probabilities(f.model, mirror(f.x), {}, o).head;
  EXPECT_TRUE(all_close(q, mirror(p), 0, 0));
  o.scales = {0.5, 1.0, 1.25};
  const Tensor m = predict_probabilities(f.model, f.x, {}, o).head;
  ASSERT_EQ(m.shape(), (Shape{1, 3, 41, 37}));
  for (int64_t i = 0; i < 41 * 37; ++i) {
    const float* v = m.data<float>();
    EXPECT_NEAR(v[i] + v[41 * 37 + i] + v[2 * 41 * 37 + i], 1.0, 1e-5);
  }
  EXPECT_EQ(describe_eval(o, f.model.config()), "scales 0.5, 1, 1.25 with flip");
}

TEST(Evaluate, VolumeRatioFiles) {
  const std::string txt = ::testing::TempDir() + "tdseg_ratios.txt";
  std::ofstream(txt) << "0.7, 0.2\n0.1\n";
  const Tensor r = read_volume_ratios(txt, 3);
  EXPECT_DOUBLE_EQ(r.data<double>()[0], 0.7);
  EXPECT_DOUBLE_EQ(r.data<double>()[2], 0.1);
  EXPECT_THROW_MSG(read_volume_ratios(txt, 4), ValueError, txt);
  std::ofstream(txt) << "0.7 lots";
  EXPECT_THROW_MSG(read_volume_ratios(txt, 2), ValueError, "'lots'");
  const std::string npy = ::testing::TempDir() + "tdseg_ratios.npy";
  save_npy(npy, Tensor::from_vector<float>({2}, {0.25f, 0.75f}));
  EXPECT_DOUBLE_EQ(read_volume_ratios(npy, 2).data<double>()[1], 0.75);
  save_npy(npy, Tensor::from_vector<float>({2}, {0.25f, 1.5f}));
  EXPECT_THROW_MSG(read_volume_ratios(npy, 2), ValueError, "outside [0, 1]");
  EXPECT_THROW_MSG(read_volume_ratios(txt + ".missing", 2), IOError, "eval.volumes");
}

// VP-STD at several scales: the volumes follow the area of each scaled input.
TEST(Evaluate, VpVolumesFollowTheScale) {
  DeepLabV3Plus model(model_config("vp-std-deeplabv3plus-xception-tiny", 2));
  model.eval();
  Generator gen(5);
  const Tensor x = Tensor::randn({1, 3, 33, 33}, gen);
  StdExtras e;
  e.volumes = Tensor::from_vector<float>({1, 2}, {33 * 33 * 0.75f, 33 * 33 * 0.25f});
  EvalOptions o;
  o.scales = {0.5, 1.0};
  const Tensor p = predict_probabilities(model, x, e, o).head;
  EXPECT_EQ(p.shape(), (Shape{1, 2, 33, 33}));
  EXPECT_EQ(
      describe_eval(o, model.config()),
      "scales 0.5, 1, no flip; VP-STD volumes from the ground truth (as the paper's evaluation)");
}

}  // namespace
}  // namespace tdseg::testing
