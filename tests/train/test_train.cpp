// The training loop end to end on the built-in synthetic data: it learns, a resumed run's
// losses equal the uninterrupted run's bit for bit, a diverging run stops naming the
// step, and checkpoints are kept as configured.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "layers/checkpoint.h"
#include "models/registry.h"
#include "tests/check_close.h"
#include "tests/temp_file.h"
#include "train/run_checkpoint.h"
#include "train/trainer.h"

namespace tdseg::testing {
namespace {

namespace fs = std::filesystem;

std::string run_dir(const std::string& name) {
  const std::string d = ::testing::TempDir() + "tdseg_train_" + name;
  fs::remove_all(d);
  return d;
}

// The tiny network on small crops of the synthetic data, evaluated on a few images.
std::vector<std::string> small_run(int64_t iters) {
  return {"model.name=std-deeplabv3plus-xception-tiny",
          cat("train.iters=", iters),
          "train.batch_size=4",
          "data.crop=49",
          "data.synthetic_val=6",
          "eval.gallery=1",
          "train.log_every=1",
          "train.eval_every=0",
          "train.checkpoint_every=0"};
}

RunConfig with(std::vector<std::string> sets, const std::vector<std::string>& more) {
  sets.insert(sets.end(), more.begin(), more.end());
  return build_config("", sets);
}

// The stated threshold: 300 iterations of the tiny network with the softmax head (batch 8,
// crop 49, lr 0.1) reach a validation mIoU of at least 20% on 40 synthetic images, where
// predicting background everywhere scores about 15% (its IoU, ~0.74, over 5 classes).
// Measured on 2 cores: 27.9%; with another seed or batch-norm momentum, 23% to 26%.
// model.init: a checkpoint of the same network with 3 classes starts a 5-class run; the
// partial load skips only the logits and says so, the strict one refuses naming them.
TEST(Train, InitFromACheckpointWithOtherClasses) {
  DeepLabV3Plus three(model_config("std-deeplabv3plus-xception-tiny", 3));
  const std::string path = run_dir("init") + ".safetensors";
  save_checkpoint(path, three);
  TrainOptions o;
  o.run_dir = run_dir("init_partial");
  o.progress = nullptr;
  const TrainResult r = train(with(small_run(1), {"model.init=" + path}), o);
  EXPECT_EQ(r.history.steps.size(), 1u);
  o.run_dir = run_dir("init_strict");
  EXPECT_THROW_MSG(train(with(small_run(1), {"model.init=" + path, "model.init_strict=true"}), o),
                   IOError, "2 mismatched (logits.weight: file float32[3, 32, 1, 1], model float32[5, 32, 1, 1]");
}

TEST(Train, LearnsTheSyntheticData) {
  TrainOptions o;
  o.run_dir = run_dir("learns");
  o.progress = nullptr;
  const TrainResult r =
      train(build_config("", {"model.head=softmax", "train.iters=300", "data.crop=49",
                              "train.lr=0.1", "train.bn_momentum=0.1", "data.synthetic_val=40",
                              "eval.gallery=1", "train.eval_every=0", "train.checkpoint_every=0"}),
            o);
  const double miou = r.eval.matrix.mean_iou();
  std::printf("[ info ] 300 iterations: validation mIoU %.2f%% (threshold 20%%)\n", 100 * miou);
  EXPECT_GE(miou, 0.20);
  EXPECT_LT(r.history.steps.back().loss, r.history.steps.front().loss);
  for (const char* f : {"config.json", "log.jsonl", "curves.png", "report.md",
                        "checkpoints/step-000300.safetensors", "checkpoints/best.safetensors"})
    EXPECT_TRUE(fs::exists(fs::path(o.run_dir) / f)) << f;
}

// Interrupted after iteration 4 (its checkpoint kept), then resumed in place: the log's
// losses equal those of the uninterrupted run, bit for bit, dropout and augmentation
// included, and so do the final weights.
TEST(Train, ResumeReproducesTheLossCurve) {
  const RunConfig config =
      with(small_run(8), {"train.checkpoint_every=4", "train.keep_checkpoints=5"});
  TrainOptions o;
  o.run_dir = run_dir("resume");
  o.progress = nullptr;
  const TrainResult full = train(config, o);
  const std::string ckpt4 = o.run_dir + "/checkpoints/step-000004.safetensors";
  ASSERT_TRUE(fs::exists(ckpt4));
  const CheckpointInfo end =
      read_checkpoint_info(o.run_dir + "/checkpoints/step-000008.safetensors");

  o.resume = resume_checkpoint(ckpt4);
  const TrainResult resumed = train(config, o);
  ASSERT_EQ(full.history.steps.size(), 8u);
  ASSERT_EQ(resumed.history.steps.size(), 8u);  // 1..4 kept from the log, 5..8 redone
  for (size_t k = 0; k < 8; ++k) {
    EXPECT_EQ(resumed.history.steps[k].iter, full.history.steps[k].iter);
    EXPECT_EQ(resumed.history.steps[k].loss, full.history.steps[k].loss) << "iteration " << k + 1;
  }
  EXPECT_EQ(resumed.eval.matrix.mean_iou(), full.eval.matrix.mean_iou());
  EXPECT_EQ(end.step, 8);
  EXPECT_EQ(resume_checkpoint(o.run_dir), o.run_dir + "/checkpoints/step-000008.safetensors");
}

// A learning rate of 1e30 blows the weights up: the run stops with the step named, and the
// checkpoints written before it are still there.
TEST(Train, NonFiniteLossStopsTheRun) {
  TrainOptions o;
  o.run_dir = run_dir("nan");
  o.progress = nullptr;
  const RunConfig config = with(
      small_run(10), {"train.lr=1e30", "train.checkpoint_every=1", "train.keep_checkpoints=10"});
  try {
    train(config, o);
    FAIL() << "a run at lr 1e30 did not stop";
  } catch (const TrainingDiverged& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("iteration"), std::string::npos) << msg;
    EXPECT_NE(msg.find("stopped"), std::string::npos) << msg;
    const size_t at = msg.find("last good checkpoint is ");
    ASSERT_NE(at, std::string::npos) << msg;
    const std::string named = msg.substr(at + 24);
    if (named != "none") EXPECT_TRUE(fs::exists(named)) << msg;
  }
  // Without checkpoints to check the weights, the loss itself turns NaN.
  EXPECT_THROW_MSG(train(with(small_run(10), {"train.lr=1e30"}), o), TrainingDiverged,
                   "the loss is ");
}

// Every iteration checkpointed, two kept, plus the best by validation mIoU.
TEST(Train, KeepsTheLastKCheckpointsAndTheBest) {
  TrainOptions o;
  o.run_dir = run_dir("keep");
  o.progress = nullptr;
  const TrainResult r =
      train(with(small_run(6), {"train.checkpoint_every=1", "train.keep_checkpoints=2",
                                "train.eval_every=2", "eval.gallery=0"}),
            o);
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(o.run_dir + "/checkpoints"))
    files.push_back(e.path().filename().string());
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"best.safetensors", "step-000005.safetensors",
                                             "step-000006.safetensors"}));
  ASSERT_EQ(r.history.evals.size(), 3u);  // iterations 2, 4, 6
  auto best = r.history.evals.begin();
  for (auto it = best; it != r.history.evals.end(); ++it)
    if (it->miou > best->miou) best = it;
  const CheckpointInfo info = read_checkpoint_info(o.run_dir + "/checkpoints/best.safetensors");
  EXPECT_EQ(info.step, best->iter);
  EXPECT_EQ(info.best_step, best->iter);
  EXPECT_EQ(*info.best_miou, best->miou);
  EXPECT_EQ(r.best_step, best->iter);
}

// Each logged step says how long it waited for its batch (the loader's workers decode
// ahead; a wait means too few of them): a part of the step's time, whose sum over the
// logged steps (every step here) is the run's total, in the report too.
TEST(Train, LogsTheTimeStepsWaitForTheLoader) {
  TrainOptions o;
  o.run_dir = run_dir("loader_wait");
  o.progress = nullptr;
  const TrainResult r = train(with(small_run(4), {"data.workers=1"}), o);
  ASSERT_EQ(r.history.steps.size(), 4u);
  double sum = 0;
  for (const History::Step& s : r.history.steps) {
    const double step_seconds = 4 / s.images_per_s;  // batch 4
    EXPECT_GT(s.loader_wait_s, 0) << "iteration " << s.iter;
    EXPECT_LT(s.loader_wait_s, step_seconds) << "iteration " << s.iter;
    sum += s.loader_wait_s;
  }
  EXPECT_NEAR(r.loader_wait_seconds, sum, 1e-9 * sum);
  EXPECT_LT(r.loader_wait_seconds, r.train_seconds);
  const std::string text = file_text(o.run_dir + "/report.md");
  EXPECT_NE(text.find("| waiting for data | "), std::string::npos);
  EXPECT_NE(text.find("(1 loader worker)"), std::string::npos);
}

}  // namespace
}  // namespace tdseg::testing
