// Checkpoints: a bit-exact round trip of TinySegNet's parameters and batch-norm running
// statistics into the layers' own tensors, the strict load's list of differences, and the
// partial load of a model with another number of classes.
#include <gtest/gtest.h>

#include <cstring>

#include "core/safetensors.h"
#include "layers/checkpoint.h"
#include "models/tiny_seg_net.h"
#include "tests/check_close.h"
#include "tests/temp_file.h"

namespace tdseg::testing {
namespace {

Module::Named state_of(const Module& m) {
  Module::Named all = m.named_parameters();
  for (auto& named : m.named_buffers()) all.push_back(std::move(named));
  return all;
}

Tensor find(const Module& m, const std::string& name) {
  for (const auto& [n, t] : state_of(m))
    if (n == name) return t;
  ADD_FAILURE() << "no tensor " << name;
  return Tensor();
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::memcmp(a.data_ptr(), b.data_ptr(), a.numel() * dtype_size(a.dtype())) == 0;
}

// A TinySegNet whose running statistics moved away from (0, 1) in a training forward.
std::unique_ptr<TinySegNet> trained_net(int64_t classes, uint64_t seed) {
  Generator gen(seed);
  auto net = std::make_unique<TinySegNet>(3, classes, 8, gen);
  net->forward(Tensor::randn({2, 3, 17, 17}, gen, DType::Float32, 0.5, 2.0));
  return net;
}

TEST(Checkpoint, RoundTripsParametersAndRunningStatisticsInPlace) {
  const auto a = trained_net(4, 1);
  EXPECT_NE(find(*a, "stem_bn.running_mean").data<float>()[0], 0.f);
  const std::string path = temp_path("tiny.safetensors");
  save_checkpoint(path, *a, {{"model", "TinySegNet"}});
  EXPECT_EQ(load_safetensors(path).metadata.at("model"), "TinySegNet");

  const auto b = trained_net(4, 2);
  std::vector<void*> storage;
  for (const auto& [_, t] : state_of(*b)) storage.push_back(t.data_ptr());
  const LoadReport report = load_checkpoint(path, *b, LoadMode::Strict);
  EXPECT_TRUE(report.complete());
  EXPECT_EQ(report.summary(), "");
  EXPECT_EQ(report.loaded.size(), 19u);  // 13 parameters, 6 running statistics

  const Module::Named sa = state_of(*a), sb = state_of(*b);
  ASSERT_EQ(sa.size(), sb.size());
  for (size_t i = 0; i < sa.size(); ++i) {
    EXPECT_TRUE(same_bits(sb[i].second, sa[i].second)) << sa[i].first;
    EXPECT_EQ(sb[i].second.data_ptr(), storage[i]) << sa[i].first << " was replaced";
    EXPECT_TRUE(sb[i].second.is_leaf()) << sa[i].first;
  }
  for (const auto& [name, t] : b->named_parameters()) EXPECT_TRUE(t.requires_grad()) << name;
  // The layers see the loaded values: both nets now compute the same function.
  a->eval();
  b->eval();
  Generator gen(5);
  const Tensor x = Tensor::randn({1, 3, 13, 13}, gen);
  EXPECT_TRUE(same_bits(b->forward(x), a->forward(x)));
}

TEST(Checkpoint, StrictLoadListsEveryDifferenceAndCopiesNothing) {
  const auto a = trained_net(4, 1);
  Generator gen(9);
  Module::Named edited;
  for (const auto& [name, t] : state_of(*a)) {
    if (name == "stem.weight" || name == "stem_bn.bias") continue;
    if (name == "logits.weight") edited.emplace_back(name, Tensor::randn({21, 24, 1, 1}, gen));
    else if (name == "logits.bias") edited.emplace_back(name, t.to(DType::Float64));
    else edited.emplace_back(name, t);
  }
  edited.emplace_back("extra.w", Tensor::zeros({2}));
  const std::string path = temp_path("edited.safetensors");
  save_safetensors(path, edited);

  const auto b = trained_net(4, 2);
  const Tensor before = find(*b, "depthwise.weight").clone();
  EXPECT_THROW_MSG(load_checkpoint(path, *b, LoadMode::Strict), IOError,
                   path + ": 2 missing (stem.weight, stem_bn.bias), 1 unexpected (extra.w), "
                          "2 mismatched (logits.weight: file float32[21, 24, 1, 1], model "
                          "float32[4, 24, 1, 1], logits.bias: file float64[4], model float32[4])");
  EXPECT_TRUE(same_bits(find(*b, "depthwise.weight"), before));

  save_safetensors(path, {{"stem.weight", find(*a, "stem.weight")}});
  EXPECT_THROW_MSG(load_checkpoint(path, *b, LoadMode::Strict), IOError,
                   path + ": 18 missing (stem_bn.weight, stem_bn.bias, depthwise.weight, "
                          "depthwise_bn.weight, ... and 14 more)");
}

TEST(Checkpoint, PartialLoadSkipsTheLogitsOfAnotherClassCount) {
  const auto a = trained_net(21, 1);
  const std::string path = temp_path("voc.safetensors");
  save_checkpoint(path, *a);

  const auto b = trained_net(5, 2);
  const Tensor logits = find(*b, "logits.weight").clone();
  const LoadReport report = load_checkpoint(path, *b, LoadMode::Partial);
  EXPECT_EQ(report.loaded.size(), 17u);
  EXPECT_TRUE(report.missing.empty());
  EXPECT_TRUE(report.unexpected.empty());
  EXPECT_EQ(report.summary(),
            "2 mismatched (logits.weight: file float32[21, 24, 1, 1], model float32[5, 24, 1, 1], "
            "logits.bias: file float32[21], model float32[5])");
  for (const std::string& name : report.loaded)
    EXPECT_TRUE(same_bits(find(*b, name), find(*a, name))) << name;
  EXPECT_TRUE(same_bits(find(*b, "logits.weight"), logits));

  // Another dtype is skipped and reported, never converted.
  Generator gen(3);
  TinySegNet f64(3, 21, 8, gen, DType::Float64);
  const LoadReport none = load_checkpoint(path, f64, LoadMode::Partial);
  EXPECT_TRUE(none.loaded.empty());
  EXPECT_EQ(none.mismatched.size(), 19u);
  EXPECT_EQ(none.mismatched[0].file, "float32[8, 3, 3, 3]");
  EXPECT_EQ(none.mismatched[0].model, "float64[8, 3, 3, 3]");
}

}  // namespace
}  // namespace tdseg::testing
