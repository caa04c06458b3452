// `tdseg bench std` and `tdseg bench step` at tiny sizes (a second or two each), on the CPU
// and, where there is one, on the GPU: their JSON has every row and field, and bad input
// exits 2 with one line on stderr.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cuda/device.h"
#include "tests/tools/cli_run.h"

namespace tdseg::testing {
namespace {

// Runs tdseg and parses what it printed on stdout as JSON.
nlohmann::json tdseg_json(const std::string& arguments) {
  const std::string out = dir() + "stdout.json";
  const int status = std::system((std::string(TDSEG_BINARY) + " " + arguments + " >" + out + " 2>/dev/null").c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << arguments;
  std::ifstream f(out);
  return nlohmann::json::parse(f);  // throws, failing the test, unless it is valid JSON
}

TEST(CliBench, StdJsonHasEveryRowAndField) {
  const nlohmann::json j = tdseg_json("bench std --device cpu --shape 1,3,17,15 --repeat 1 --json");
  EXPECT_EQ(j["benchmark"], "std");
  EXPECT_EQ(j["device"], "cpu");
  EXPECT_EQ(j["shape"], nlohmann::json({1, 3, 17, 15}));
  EXPECT_EQ(j["dtype"], "float32");
  EXPECT_GT(j["copy_gbps"].get<double>(), 0);
  const char* keys[] = {"softmax_nll", "std_composed", "std_fused", "vp_std_fused", "ss_std_fused"};
  const int iters[] = {0, 10, 10, 10, 50};
  ASSERT_EQ(j["rows"].size(), 5u);
  for (int k = 0; k < 5; ++k) {
    const nlohmann::json& r = j["rows"][k];
    SCOPED_TRACE(keys[k]);
    EXPECT_EQ(r["key"], keys[k]);
    EXPECT_EQ(r["iters"], iters[k]);
    EXPECT_FALSE(r.contains("error"));
    for (const char* f : {"forward_ms", "forward_backward_ms", "ratio_to_baseline"}) EXPECT_GT(r[f].get<double>(), 0) << f;
    EXPECT_TRUE(r["peak_mib"].is_null());  // the CPU keeps no count
    const bool modelled = k != 1;          // the composed form has no byte model
    for (const char* f : {"forward_bytes", "bytes", "forward_gbps", "gbps", "fraction_of_copy"})
      EXPECT_EQ(r[f].is_number(), modelled) << f;
  }
  EXPECT_DOUBLE_EQ(j["rows"][0]["ratio_to_baseline"].get<double>(), 1.0);
  // The byte model (tools/tdseg/byte_model.cpp), per element: the loss 4 (1 + 1/3) forward
  // and 4 (2 + 1/3) back, and the int32 labels each way, 4/3: 12 + 8/3 + 8/3 B for softmax +
  // NLL. STD fused at T = 10, all iterates kept, adds 4 (2 + 40 + 2 + 50) = 376 B; VP-STD
  // 4 (2 + 60 + 140) = 808 B and its plane sums' shares, 8 doubles a row of 15 pixels
  // written and read: 8 x 10 x 8 / 15; SS-STD at T = 50 keeps every 8th, writes only the
  // star planes of the 43 others, recomputes those 43 iterations in 7 segments and writes
  // the star field once: 4 (2 + 50 (4 + 8/3) - 43 (2/3) + 2/3 + 2 + 50 (5 + 14/3) +
  // 43 (4 + 8/3) + 7 x 2).
  const double elements = 1 * 3 * 17 * 15, loss = 12 + 16 / 3.0;
  EXPECT_DOUBLE_EQ(j["rows"][0]["bytes"].get<double>(), loss * elements);
  EXPECT_DOUBLE_EQ(j["rows"][2]["bytes"].get<double>(), (loss + 376) * elements);
  EXPECT_EQ(j["rows"][2]["saved"], "all");
  EXPECT_DOUBLE_EQ(j["rows"][3]["bytes"].get<double>(), (loss + 808 + 80 * 8 / 15.0) * elements);
  EXPECT_NEAR(j["rows"][4]["bytes"].get<double>(),
              (loss + 4 * (18 + 2 / 3.0 + 50 * (4 + 8 / 3.0 + 5 + 14 / 3.0) + 43 * (4 + 8 / 3.0 - 2 / 3.0))) * elements,
              1e-6);
  EXPECT_EQ(j["rows"][4]["saved"], "checkpoints/8");
}

// The same commands on the GPU, at tiny sizes: every row runs there, the peak memory of the
// caching allocator is counted, the figures are positive.
TEST(CliBench, OnTheGpuEveryRowRuns) {
  if (cuda::query_devices().devices.empty()) GTEST_SKIP() << "needs a GPU";
  const nlohmann::json s = tdseg_json("bench std --device cuda --shape 1,3,17,15 --repeat 1 --json");
  EXPECT_EQ(s["device"].get<std::string>().rfind("cuda:0 (", 0), 0u) << s["device"];  // and its name
  ASSERT_EQ(s["rows"].size(), 5u);
  for (const nlohmann::json& r : s["rows"]) {
    SCOPED_TRACE(r["key"].get<std::string>());
    EXPECT_FALSE(r.contains("error"));
    EXPECT_GT(r["forward_backward_ms"].get<double>(), 0);
    EXPECT_TRUE(r["peak_mib"].is_number());
  }
  // --kernels both: the fused heads again on the passes and the tile kernel, each with
  // its byte model.
  const nlohmann::json b =
      tdseg_json("bench std --device cuda --shape 1,3,17,15 --repeat 1 --kernels both --json");
  const char* keys[] = {"softmax_nll", "std_composed", "std_fused", "vp_std_fused",
                        "ss_std_fused", "std_passes", "vp_std_passes", "ss_std_passes"};
  ASSERT_EQ(b["rows"].size(), 8u);
  for (int k = 0; k < 8; ++k) {
    const nlohmann::json& r = b["rows"][k];
    SCOPED_TRACE(keys[k]);
    EXPECT_EQ(r["key"], keys[k]);
    EXPECT_FALSE(r.contains("error"));
    EXPECT_GT(r["forward_backward_ms"].get<double>(), 0);
    EXPECT_EQ(r["bytes"].is_number(), k != 1);
  }
  const nlohmann::json t = tdseg_json(
      "bench step --device cuda --model deeplabv3plus-xception-tiny --classes 3 --input 17x17 --batch 2 "
      "--head softmax --head std --repeat 1 --tf32 off --conv-search timed --json");
  EXPECT_EQ(t["precision"], "float32, TF32 off, timed convolution algorithms");
  ASSERT_EQ(t["rows"].size(), 2u);
  for (const nlohmann::json& r : t["rows"]) EXPECT_GT(r["ms"].get<double>(), 0);
}

TEST(CliBench, StepJsonHasEveryHead) {
  const nlohmann::json j = tdseg_json(
      "bench step --device cpu --model deeplabv3plus-xception-tiny --classes 3 --input 33x31 --batch 2 "
      "--repeat 1 --json");
  EXPECT_EQ(j["benchmark"], "step");
  EXPECT_EQ(j["precision"], "float32");  // TF32 is a GPU's
  EXPECT_EQ(j["batch"], 2);
  EXPECT_EQ(j["input"], nlohmann::json({33, 31}));
  const char* heads[] = {"softmax", "std", "vp", "ss"};
  ASSERT_EQ(j["rows"].size(), 4u);
  for (int k = 0; k < 4; ++k) {
    const nlohmann::json& r = j["rows"][k];
    SCOPED_TRACE(heads[k]);
    EXPECT_EQ(r["head"], heads[k]);
    EXPECT_FALSE(r.contains("error"));
    EXPECT_GT(r["ms"].get<double>(), 0);
    // One timed step (--repeat 1): its three phases add up to it.
    double phases = 0;
    for (const char* f : {"forward_ms", "backward_ms", "update_ms"}) {
      EXPECT_GT(r[f].get<double>(), 0) << f;
      phases += r[f].get<double>();
    }
    EXPECT_NEAR(phases, r["ms"].get<double>(), 1e-9 * r["ms"].get<double>());
    EXPECT_TRUE(r["overhead"].is_number());
    EXPECT_EQ(r["paper_it_per_s"].is_number(), k < 3);  // Table 5 has no SS-STD
  }
  EXPECT_DOUBLE_EQ(j["rows"][0]["overhead"].get<double>(), 0);
  EXPECT_NEAR(j["rows"][1]["paper_overhead"].get<double>(), 0.18, 0.005);  // 1.43 / 1.21 - 1
  EXPECT_NEAR(j["rows"][2]["paper_overhead"].get<double>(), 0.86, 0.005);  // 1.43 / 0.77 - 1
  // One head: no softmax row to compare with, so no overhead.
  const nlohmann::json one = tdseg_json(
      "bench step --device cpu --model deeplabv3plus-xception-tiny --head std --classes 3 --input 17x17 "
      "--repeat 1 --json");
  ASSERT_EQ(one["rows"].size(), 1u);
  EXPECT_TRUE(one["rows"][0]["overhead"].is_null());
}

TEST(CliBench, BadInputExitsTwoWithOneLine) {
  const char* cases[] = {
      "bench std --shape 1,2,3",          "bench std --shape 1,x,3,4",     "bench std --shape 1,0,3,4",
      "bench std --shape 1,1,8,8",        "bench std --preset coco",       "bench std --preset voc --shape 1,2,3,4",
      "bench std --dtype int32",          "bench std --device tpu",        "bench std --repeat 0",
      "bench std --iters 3",              "bench step --head crf",         "bench step --model resnet",
      "bench step --model std-deeplabv3plus-xception-tiny",              "bench step --input 33",
      "bench step --input 33x0",          "bench step --batch 1",          "bench step --device gpu",
      "bench std --device cuda:99",       "bench step --device cuda:99",   "bench ops --device cuda:99",
      "bench ops --device cpu",           "bench step --tf32 maybe",       "bench step --conv-search fast",
      "bench ops --tf32 maybe",           "bench std --kernels fast",
      "bench std --device cpu --kernels both",
  };
  for (const char* c : cases) {
    SCOPED_TRACE(c);
    const Outcome r = tdseg(c);
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_EQ(r.stderr_lines, 1) << r.err;
  }
  if (!cuda::query_devices().devices.empty()) return;
  for (const char* c : {"bench std --device cuda", "bench step --device cuda"}) {  // no GPU: says why
    SCOPED_TRACE(c);
    const Outcome r = tdseg(c);
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_EQ(r.stderr_lines, 1) << r.err;
  }
}

}  // namespace
}  // namespace tdseg::testing
