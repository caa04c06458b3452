// `tdseg std` from outside: .npy files in, .npy files out, compared with the library's
// own std_block; and the bad inputs that must exit 2 with one line on stderr.
#include <gtest/gtest.h>

#include "core/npy.h"
#include "core/ops.h"
#include "layers/std/std_block.h"
#include "tests/check_close.h"
#include "tests/cuda/gpu.h"
#include "tests/gradcheck.h"
#include "tests/tools/cli_run.h"

namespace tdseg::testing {
namespace {

TEST(CliStd, RoundTripMatchesTheLibrary) {
  const int64_t N = 2, C = 3, H = 9, W = 8;
  const Tensor o = randn64({N, C, H, W}, 80).to(DType::Float32);
  const Tensor g = randn64({N, C, H, W}, 81).to(DType::Float32);
  const Tensor centers = Tensor::from_vector<double>({N, 2}, {3.5, 4, 2, 6.25});
  const Tensor volumes = Tensor::from_vector<double>({N, C}, {20, 30, 22, 10, 40, 22});
  save_npy(dir() + "o.npy", o);
  save_npy(dir() + "g.npy", g);
  save_npy(dir() + "c.npy", centers);
  save_npy(dir() + "v.npy", volumes);
  for (const char* prior : {"none", "std", "vp", "ss"}) {
    SCOPED_TRACE(prior);
    const Outcome r = tdseg(std::string("std --prior ") + prior + " --logits " + dir() + "o.npy --out " + dir() +
                        "u.npy --iters 4 --lambda 0.8 --eps 0.3 --kernel-size 5 --sigma 2 --volumes " + dir() +
                        "v.npy --centers " + dir() + "c.npy --grad-output " + dir() + "g.npy --grad-logits-out " +
                        dir() + "go.npy");
    ASSERT_EQ(r.code, 0) << r.err;
    StdConfig c;
    c.prior = parse_std_prior(prior);
    c.iters = 4;
    c.lambda = 0.8;
    c.eps = 0.3;
    c.kernel_size = 5;
    c.sigma = 2;
    Tensor x = o.clone();
    x.set_requires_grad(true);
    const Tensor u = ops::softmax(std_block(x, std_params(c, C, DType::Float32), {volumes.to(DType::Float32), centers.to(DType::Float32), Tensor()}, c));
    u.backward(g);
    const Tensor u_cli = load_npy(dir() + "u.npy"), go_cli = load_npy(dir() + "go.npy");
    EXPECT_EQ(u_cli.dtype(), DType::Float32);
    EXPECT_TRUE(all_close(u_cli, u, 0, 0));
    EXPECT_TRUE(all_close(go_cli, x.grad(), 0, 0));
  }
}

// --device cuda against --device cpu, for every prior (fp32: 1e-5 relative, the tolerance
// of the fused kernels' parity tests).
TEST(CliStd, DeviceCudaMatchesTheCpu) {
  TDSEG_REQUIRE_GPU();
  save_npy(dir() + "od.npy", randn64({2, 3, 9, 8}, 84).to(DType::Float32));
  save_npy(dir() + "gd.npy", randn64({2, 3, 9, 8}, 85).to(DType::Float32));
  save_npy(dir() + "vd.npy", Tensor::from_vector<double>({2, 3}, {20, 30, 22, 10, 40, 22}));
  for (const char* prior : {"none", "std", "vp", "ss"}) {
    SCOPED_TRACE(prior);
    Tensor u[2], go[2];
    for (int d = 0; d < 2; ++d) {
      const std::string tag = d ? "cuda" : "cpu";
      const Outcome r = tdseg(std::string("std --prior ") + prior + " --device " + tag + " --logits " +
                              dir() + "od.npy --out " + dir() + "u_" + tag + ".npy --volumes " + dir() +
                              "vd.npy --iters 4 --grad-output " + dir() + "gd.npy --grad-logits-out " +
                              dir() + "go_" + tag + ".npy");
      ASSERT_EQ(r.code, 0) << r.err;
      u[d] = load_npy(dir() + "u_" + tag + ".npy");
      go[d] = load_npy(dir() + "go_" + tag + ".npy");
    }
    EXPECT_TRUE(all_close(u[1], u[0], 1e-6, 1e-5));
    EXPECT_TRUE(all_close(go[1], go[0], 1e-6, 1e-5));
  }
}

TEST(CliStd, DeviceCudaWithoutAGpuExitsTwo) {
  if (gpu_unavailable().empty()) GTEST_SKIP() << "this machine has a GPU";
  save_npy(dir() + "o5.npy", randn64({1, 3, 5, 5}, 86));
  const Outcome r = tdseg("std --device cuda --logits " + dir() + "o5.npy --out " + dir() + "u5.npy");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.stderr_lines, 1) << r.err;
  EXPECT_NE(r.err.find("--device cuda: no CUDA device"), std::string::npos) << r.err;
}

TEST(CliStd, BadInputExitsTwoWithOneLine) {
  save_npy(dir() + "o4.npy", randn64({1, 3, 5, 5}, 82));
  save_npy(dir() + "o3.npy", randn64({3, 5, 5}, 83));
  save_npy(dir() + "v_bad.npy", randn64({1, 4}, 84));
  save_npy(dir() + "c_out.npy", Tensor::from_vector<double>({1, 2}, {2, 9}));
  const std::string o = " --logits " + dir() + "o4.npy --out " + dir() + "u.npy";
  const std::pair<std::string, std::string> cases[] = {
      {"std --logits " + dir() + "missing.npy --out " + dir() + "u.npy", "missing.npy: cannot open"},
      {"std --logits " + dir() + "o3.npy --out " + dir() + "u.npy", "must be [N, C, H, W], got [3, 5, 5]"},
      {"std --prior vp --volumes " + dir() + "v_bad.npy" + o, "volumes [1, 4] must be [N, C] = [1, 3]"},
      {"std --prior ss --centers " + dir() + "c_out.npy" + o, "centre (2, 9) of image 0 is outside the 5x5 image"},
      {"std --eps 0" + o, "eps must be positive, got 0"},
      {"std --eps -1" + o, "eps must be positive, got -1"},
      {"std --iters -1" + o, "iterations must be >= 0, got -1"},
      {"std --prior vp" + o, "--prior vp needs --volumes"},
      {"std --prior bogus" + o, "unknown prior 'bogus'"},
      {"std --kernel-size 4" + o, "kernel size 4 must be odd"},
      {"std --lambda x" + o, "--lambda expects a number, got 'x'"},
      {"std --logits " + dir() + "o4.npy", "--out U.npy is required"},
      {"std --device gpu" + o, "--device must be cpu, cuda or cuda:N, got 'gpu'"},
      {"std --device cuda:01" + o, "--device must be cpu, cuda or cuda:N, got 'cuda:01'"},
      // No machine here has 100 GPUs: the line says why (no GPU, or how many there are).
      {"std --device cuda:99" + o, "std: --device cuda:99: "},
  };
  for (const auto& [arguments, message] : cases) {
    const Outcome r = tdseg(arguments);
    EXPECT_EQ(r.code, 2) << arguments;
    EXPECT_EQ(r.stderr_lines, 1) << arguments << "\n" << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << arguments << "\n" << r.err;
  }
}

}  // namespace
}  // namespace tdseg::testing
