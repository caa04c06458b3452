// The loader: the same batches for a seed whatever the workers, skip() equal to consuming,
// one pass when evaluating, volumes and star centres of the augmented masks, a worker's
// error rethrown in order naming the file, prompt destruction, and its throughput.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <set>
#include <thread>

#include "data/augment.h"
#include "data/datasets/synthetic.h"
#include "data/image.h"
#include "data/loader.h"
#include "tests/check_close.h"
#include "tests/data/fixtures.h"

namespace tdseg::testing {
namespace {

using Clock = std::chrono::steady_clock;

void expect_same(const Batch& a, const Batch& b) {
  EXPECT_EQ(a.ids, b.ids);
  EXPECT_TRUE(all_close(a.images, b.images, 0, 0));
  EXPECT_TRUE(all_close(a.masks, b.masks, 0, 0));
  EXPECT_TRUE(all_close(a.volumes, b.volumes, 0, 0));
  EXPECT_TRUE(all_close(a.centers, b.centers, 0, 0));
}

LoaderOptions small_options(int workers) {
  LoaderOptions o;
  o.batch_size = 4;
  o.crop = {33, 33};
  o.workers = workers;
  o.seed = 5;
  return o;
}

std::vector<Batch> take(Loader& loader, int n) {
  std::vector<Batch> out(n);
  for (Batch& b : out) EXPECT_TRUE(loader.next(b));
  return out;
}

TEST(Loader, SameSeedSameBatchesWhateverTheWorkers) {
  const SyntheticDataset d("train", 18, 1);  // 4 full batches per epoch: 7 cross into epoch 2
  Loader reference(d, small_options(0));
  EXPECT_EQ(reference.batches_per_epoch(), 4);
  const auto expected = take(reference, 7);
  for (int workers : {1, 2}) {
    Loader loader(d, small_options(workers));
    const auto got = take(loader, 7);
    for (int k = 0; k < 7; ++k) expect_same(got[k], expected[k]);
  }
  // Each epoch is a permutation (16 of 18 samples in full batches), reshuffled per epoch.
  std::set<std::string> first;
  std::vector<std::string> order1, order2;
  for (int k = 0; k < 4; ++k)
    for (const std::string& id : expected[k].ids) first.insert(id), order1.push_back(id);
  EXPECT_EQ(first.size(), 16u);
  for (int k = 4; k < 7; ++k)
    order2.insert(order2.end(), expected[k].ids.begin(), expected[k].ids.end());
  EXPECT_NE(std::vector<std::string>(order1.begin(), order1.begin() + 12), order2);
  LoaderOptions other = small_options(2);
  other.seed = 6;
  Loader different(d, other);
  Batch b;
  different.next(b);
  EXPECT_FALSE(all_close(b.images, expected[0].images, 0, 0));
}

TEST(Loader, SkipEqualsConsuming) {
  const SyntheticDataset d("train", 12, 2);
  Loader consumed(d, small_options(2));
  const auto all = take(consumed, 8);
  Loader skipped(d, small_options(2));
  skipped.skip(6);
  const auto rest = take(skipped, 2);
  expect_same(rest[0], all[6]);
  expect_same(rest[1], all[7]);
  Loader back(d, small_options(1));  // skip() counts from the start, after use too
  take(back, 3);
  back.skip(1);
  expect_same(take(back, 1)[0], all[1]);
}

TEST(Loader, EvaluationIsOnePassOfWholeImages) {
  const SyntheticDataset d("val", 7, 3);
  LoaderOptions o;
  o.augment = false;
  o.shuffle = false;
  o.drop_last = false;
  o.crop = {0, 0};
  o.batch_size = 3;
  o.mean = {100.f, 110.f, 120.f};
  o.std = {50.f, 60.f, 70.f};
  Loader loader(d, o);
  EXPECT_EQ(loader.batches_per_epoch(), 3);
  Batch b;
  std::vector<int64_t> sizes;
  int64_t index = 0;
  while (loader.next(b)) {
    sizes.push_back(b.images.size(0));
    for (int64_t n = 0; n < b.images.size(0); ++n, ++index) {
      const Sample s = d.get(index);
      EXPECT_EQ(b.ids[n], s.id);
      const int64_t plane = 3 * 96 * 96;
      const Tensor expected = normalise(s.image, o.mean, o.std);
      for (int64_t k = 0; k < plane; ++k)
        ASSERT_EQ(b.images.data<float>()[n * plane + k], expected.data<float>()[k]);
      for (int64_t k = 0; k < 96 * 96; ++k)
        ASSERT_EQ(b.masks.data<int32_t>()[n * 96 * 96 + k], s.mask.data<int32_t>()[k]);
    }
  }
  EXPECT_EQ(sizes, (std::vector<int64_t>{3, 3, 1}));
  EXPECT_FALSE(loader.next(b));
}

TEST(Loader, VolumesAndStarCentresOfTheAugmentedMasks) {
  const SyntheticDataset d("train", 8, 4);
  LoaderOptions o = small_options(2);
  o.min_scale = 0.5, o.max_scale = 3.0;  // large scales crop the star out sometimes
  Loader loader(d, o);
  int64_t absent = 0;
  for (int step = 0; step < 6; ++step) {
    Batch b;
    ASSERT_TRUE(loader.next(b));
    ASSERT_EQ(b.volumes.shape(), (Shape{4, 5}));
    ASSERT_EQ(b.centers.shape(), (Shape{4, 2}));
    for (int64_t n = 0; n < 4; ++n) {
      std::vector<double> count(5, 0);
      double sx = 0, sy = 0;
      for (int64_t k = 0; k < 33 * 33; ++k) {
        const int32_t l = b.masks.data<int32_t>()[n * 33 * 33 + k];
        if (l == 255) continue;
        ++count[l];
        if (l == 1) sx += k % 33, sy += k / 33;
      }
      for (int64_t c = 0; c < 5; ++c) EXPECT_EQ(b.volumes.data<float>()[n * 5 + c], count[c]);
      const bool has_star = count[1] > 0;
      absent += !has_star;
      EXPECT_NEAR(b.centers.data<float>()[2 * n], has_star ? sx / count[1] : 16.0, 1e-3);
      EXPECT_NEAR(b.centers.data<float>()[2 * n + 1], has_star ? sy / count[1] : 16.0, 1e-3);
    }
  }
  EXPECT_GT(absent, 0);  // the fallback was exercised (seen: 12 of 24)
  EXPECT_LT(absent, 24);
}

// A folder dataset of 10 PNGs whose sample 5 is corrupt (a flipped byte in its pixels).
std::unique_ptr<Dataset> folder_with_corrupt_sample(const std::string& root) {
  Generator gen(31);
  for (int i = 0; i < 10; ++i) {
    const std::string stem = "s" + std::to_string(i);
    write_png_in(root + "images/" + stem + ".png", 8, 6, 3, random_bytes(8 * 6 * 3, gen));
    write_png_in(root + "masks/" + stem + ".png", 8, 6, 1, random_bytes(8 * 6, gen, 0, 2));
  }
  auto bytes = read_file(root + "images/s5.png");
  bytes[bytes.size() - 20] ^= 0x33;
  write_bytes(root + "images/s5.png", bytes);
  DatasetOptions o;
  o.format = "folder";
  o.root = root;
  o.classes = 3;
  return make_dataset(o);
}

TEST(Loader, CorruptSampleInTheMiddleIsRethrownNamingIt) {
  const ScratchDir scratch("corrupt");
  const std::string root = scratch.path();
  const auto d = folder_with_corrupt_sample(root);
  for (int workers : {0, 2}) {
    LoaderOptions o;
    o.batch_size = 2;
    o.crop = {8, 8};
    o.shuffle = false;
    o.workers = workers;
    Loader loader(*d, o);
    Batch b;
    ASSERT_TRUE(loader.next(b));  // s0 s1
    ASSERT_TRUE(loader.next(b));  // s2 s3
    for (int again = 0; again < 2; ++again)
      EXPECT_THROW_MSG(loader.next(b), IOError,
                       root + "images/s5.png: corrupt PNG (CRC mismatch in chunk IDAT");
  }
}

// get() takes 30 ms: workers are mid-sample or blocked on a full queue when the loader goes.
struct SlowDataset : SyntheticDataset {
  SlowDataset() : SyntheticDataset("train", 40, 0) {}
  Sample get(size_t i) const override {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    return SyntheticDataset::get(i);
  }
};

TEST(Loader, DestructionIsPrompt) {
  const SlowDataset d;
  LoaderOptions o = small_options(2);
  o.prefetch = 1;
  for (int waited_ms : {0, 400}) {  // workers busy; workers blocked on the full window
    auto loader = std::make_unique<Loader>(d, o);
    Batch b;
    ASSERT_TRUE(loader->next(b));
    std::this_thread::sleep_for(std::chrono::milliseconds(waited_ms));
    const auto start = Clock::now();
    loader.reset();
    // A stopped worker finishes only its current sample (30 ms); a generous bound for CI.
    EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 0.5) << waited_ms;
  }
  Loader never_started(d, o);
}

TEST(Loader, OptionErrors) {
  const SyntheticDataset d("train", 6, 0);
  LoaderOptions o = small_options(1);
  o.batch_size = 8;
  EXPECT_THROW_MSG(Loader(d, o), ValueError,
                   "loader: dataset synthetic train has 6 samples, not one full batch of 8");
  o = small_options(1);
  o.crop = {0, 0};
  EXPECT_THROW_MSG(Loader(d, o), ValueError, "loader: crop 0x0 must be positive");
  o = small_options(1);
  o.min_scale = 2, o.max_scale = 1;
  EXPECT_THROW_MSG(Loader(d, o), ValueError, "loader: scale range [2, 1]");
  o = small_options(1);
  o.prefetch = 0;
  EXPECT_THROW_MSG(Loader(d, o), ValueError, "loader: prefetch 0 must be >= 1");
}

TEST(Loader, Throughput) {
  // Samples per second of the synthetic data at crop 65, batch 8; printed for the record.
  const SyntheticDataset d("train", 0, 0);
  for (int workers : {1, 2}) {
    LoaderOptions o;
    o.workers = workers;
    Loader loader(d, o);
    Batch b;
    loader.next(b);  // start-up excluded
    const int batches = 12;
    const auto start = Clock::now();
    for (int k = 0; k < batches; ++k) ASSERT_TRUE(loader.next(b));
    const double s = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("[ info ] loader, synthetic, crop 65, batch 8, %d worker(s): %.0f samples/s\n",
                workers, batches * 8 / s);
  }
}

}  // namespace
}  // namespace tdseg::testing
