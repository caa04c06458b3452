// The memory options of the fused STD blocks (std_config.h: StdMemory): recomputation
// from checkpoints gives the gradients of keeping every iterate bit for bit (the same
// code runs in the same order), for every prior, T and k; bfloat16 iterates leave the
// forward exact and bound the gradients' error; the bytes the forward keeps are the
// formula's; the options are validated. StdMemoryFigures (disabled; run with
// --gtest_also_run_disabled_tests) prints the figures of docs/PERFORMANCE.md.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "core/autograd.h"
#include "core/ops.h"
#include "layers/std/std_block.h"
#include "layers/std/std_extras.h"
#include "layers/std/std_fused.h"
#include "layers/std/std_fused_kernels.h"
#include "tests/check_close.h"
#include "tests/gradcheck.h"

namespace tdseg::testing {
namespace {

const StdPrior kPriors[] = {StdPrior::None, StdPrior::STD, StdPrior::VP, StdPrior::SS};

StdConfig config(StdPrior prior, int64_t iters, StdMemory memory, bool edge = false) {
  StdConfig c;
  c.prior = prior;
  c.iters = iters;
  c.kernel_size = 3;
  c.edge_weight = edge;
  c.memory = memory;
  return c;
}

StdMemory all() { return {StdSave::All, 0, false}; }
StdMemory checkpoints(int64_t every, bool bf16 = false) {
  return {StdSave::Checkpoints, every, bf16};
}

// Inputs of one case: o, the parameters, the extras every prior may need, a gradient of z.
struct Inputs {
  Tensor o, gz;
  StdParams p;
  StdExtras ex;
};

Inputs inputs(const Shape& shape, DType dtype, uint64_t seed, bool edge, double eps = 0.6) {
  const int64_t N = shape[0], C = shape[1], H = shape[2], W = shape[3];
  Generator gen(seed);
  Inputs in;
  in.o = Tensor::randn(shape, gen, DType::Float64, 0, 2).to(dtype);
  in.gz = Tensor::randn(shape, gen, DType::Float64).to(dtype);
  in.p = {Tensor::full({}, 0.7, dtype), Tensor::full({}, eps, dtype),
          Tensor::uniform({C}, gen, 0.8, 2.0, DType::Float64).to(dtype)};
  Tensor v = Tensor::empty({N, C}, DType::Float64), centers = Tensor::empty({N, 2}, DType::Float64);
  for (int64_t n = 0; n < N; ++n) {
    double total = 0;
    for (int64_t c = 0; c < C; ++c) total += (v.data<double>()[n * C + c] = gen.uniform(0.2, 1));
    for (int64_t c = 0; c < C; ++c) v.data<double>()[n * C + c] *= H * W / total;
    centers.data<double>()[2 * n] = gen.uniform(1, W - 2);
    centers.data<double>()[2 * n + 1] = gen.uniform(1, H - 2);
  }
  in.ex.volumes = v.to(dtype);
  in.ex.centers = centers.to(dtype);
  if (edge) in.ex.edge = edge_weight(Tensor::randn({N, 3, H, W}, gen, dtype));
  return in;
}

// {z, do, dlambda, deps, dsigma} with every parameter learnable, and the bytes the forward
// kept for the backward.
struct Result {
  std::vector<Tensor> out;
  int64_t kept_bytes = 0;
};

Result run(const Inputs& in, const StdConfig& c) {
  Tensor o = in.o.clone();
  StdParams p{in.p.lambda.clone(), in.p.eps.clone(), in.p.sigma.clone()};
  for (Tensor* t : {&o, &p.lambda, &p.eps, &p.sigma}) t->set_requires_grad(true);
  Result r;
  const Tensor z = std_block(o, p, in.ex, c);
  r.kept_bytes = std_fused_saved_bytes(z);
  z.backward(in.gz);
  r.out = {z.detach(), o.grad(), p.lambda.grad(), p.eps.grad(), p.sigma.grad()};
  return r;
}

const char* kWhat[] = {"z", "d o", "d lambda", "d eps", "d sigma"};

// ---- recomputation is exact ---------------------------------------------------------

void expect_checkpoints_exact(DType dtype) {
  const Shape shape{2, 3, 7, 6};
  uint64_t seed = 200;
  for (StdPrior prior : kPriors)
    for (bool edge : {false, true})
      for (int64_t T : {1, 4, 7, 10}) {
        const Inputs in = inputs(shape, dtype, seed++, edge);
        const Result reference = run(in, config(prior, T, all()));
        // k = 1 (every iterate a checkpoint), 2, 3 (T not a multiple), T (one segment),
        // beyond T (clamped to T) and 0 (ceil(sqrt(T))).
        for (int64_t k : {int64_t(1), int64_t(2), int64_t(3), T, T + 3, int64_t(0)}) {
          SCOPED_TRACE(::testing::Message() << std_prior_name(prior) << (edge ? " edge" : "")
                                            << " T=" << T << " k=" << k << " "
                                            << dtype_name(dtype));
          const Result r = run(in, config(prior, T, checkpoints(k)));
          for (size_t i = 0; i < r.out.size(); ++i)
            EXPECT_TRUE(all_close(r.out[i], reference.out[i], 0, 0)) << kWhat[i];
        }
      }
}

TEST(StdMemory, CheckpointsGiveAllsGradientsBitForBitFloat32) {
  expect_checkpoints_exact(DType::Float32);
}
TEST(StdMemory, CheckpointsGiveAllsGradientsBitForBitFloat64) {
  expect_checkpoints_exact(DType::Float64);
}

// ---- bfloat16 -----------------------------------------------------------------------

TEST(StdMemory, Bf16RoundsToNearestEven) {
  auto bits = [](float x) { return fused::to_bf16(x); };
  EXPECT_EQ(bits(1.0f), 0x3f80);
  EXPECT_EQ(bits(1.0f + 0x1p-8f), 0x3f80);          // halfway: down to the even 0x3f80
  EXPECT_EQ(bits(1.0f + 0x1p-8f + 0x1p-9f), 0x3f81);  // past halfway: up
  EXPECT_EQ(bits(1.0f + 3 * 0x1p-8f), 0x3f82);      // halfway: up to the even 0x3f82
  EXPECT_EQ(bits(-2.0f), 0xc000);
  EXPECT_EQ(bits(INFINITY), 0x7f80);
  EXPECT_TRUE(std::isnan(fused::from_bf16(bits(NAN))));
  EXPECT_EQ(fused::from_bf16(bits(0.375f)), 0.375f);  // representable: exact round trip
  EXPECT_EQ(fused::from_bf16(0x3f81), 1.0f + 0x1p-7f);
}

// The forward is unchanged (the iteration runs in float32; only what it keeps is rounded)
// and the gradients stay within 2e-2 of float32's, relative to their largest element.
// Measured here (eps 0.3): at most 1.2e-2, in d o of SS-STD, where a rounded u_t flips
// the mask [q_t - tau G_t > 0] of a few pixels; the other gradients and blocks at most
// 1e-2, most near 2e-3. Checkpoints recomputed from a bf16 checkpoint err no more than All.
TEST(StdMemory, Bf16IteratesBoundTheGradientError) {
  const Shape shape{2, 4, 11, 10};
  uint64_t seed = 300;
  for (StdPrior prior : {StdPrior::STD, StdPrior::VP, StdPrior::SS})
    for (bool edge : {false, true}) {
      const int64_t T = prior == StdPrior::SS ? 20 : 10;
      const Inputs in = inputs(shape, DType::Float32, seed++, edge, 0.3);
      const Result reference = run(in, config(prior, T, all()));
      for (const StdMemory m : {StdMemory{StdSave::All, 0, true}, checkpoints(0, true)}) {
        SCOPED_TRACE(::testing::Message() << std_prior_name(prior) << (edge ? " edge" : "")
                                          << " save " << std_save_name(m.save));
        const Result r = run(in, config(prior, T, m));
        EXPECT_TRUE(all_close(r.out[0], reference.out[0], 0, 0)) << "z";
        for (size_t i = 1; i < r.out.size(); ++i)
          EXPECT_LT(relative_error(r.out[i], reference.out[i]), 2e-2) << kWhat[i];
      }
    }
}

// ---- the bytes kept -----------------------------------------------------------------

TEST(StdMemory, KeptBytesMatchTheFormula) {
  const int64_t N = 2, C = 3, H = 7, W = 6, n = N * C * H * W;
  for (StdPrior prior : {StdPrior::STD, StdPrior::VP, StdPrior::SS})
    for (const DType dtype : {DType::Float32, DType::Float64}) {
      const Inputs in = inputs({N, C, H, W}, dtype, 400, false);
      const int64_t e = dtype == DType::Float32 ? 4 : 8;
      // a dual per kept iterate, plus q_T: VP [N, C], SS [N, H, W], STD none
      const int64_t m = prior == StdPrior::VP ? N * C : prior == StdPrior::SS ? N * H * W : 0;
      struct Case {
        StdMemory memory;
        int64_t T, kept_iterates, element;
      };
      std::vector<Case> cases = {
          {all(), 10, 10, e},               // u_0 .. u_9
          {checkpoints(0), 10, 3, e},       // k = ceil(sqrt(10)) = 4: u_0, u_4, u_8
          {checkpoints(3), 10, 4, e},       // u_0, u_3, u_6, u_9
          {checkpoints(10), 10, 1, e},      // u_0
          {checkpoints(0), 50, 7, e},       // k = 8: u_0, u_8, ..., u_48
          {{StdSave::Auto, 0, false}, 10, 10, e},  // Auto: All up to T = 10
          {{StdSave::Auto, 0, false}, 11, 3, e},   // Checkpoints beyond, k = 4
      };
      if (dtype == DType::Float32) {
        cases.push_back({{StdSave::All, 0, true}, 10, 10, 2});
        cases.push_back({checkpoints(0, true), 50, 7, 2});
      }
      for (const Case& k : cases) {
        SCOPED_TRACE(::testing::Message() << std_prior_name(prior) << " " << dtype_name(dtype)
                                          << " save " << std_save_name(k.memory.save) << " every "
                                          << k.memory.checkpoint_every << " T=" << k.T
                                          << (k.memory.bf16_iterates ? " bf16" : ""));
        const StdConfig c = config(prior, k.T, k.memory);
        const int64_t formula = k.kept_iterates * n * k.element + (k.kept_iterates + 1) * m * e;
        EXPECT_EQ(std_memory_plan(c, in.o.shape(), dtype).kept_bytes, formula);
        EXPECT_EQ(run(in, c).kept_bytes, formula);
      }
    }
}

TEST(StdMemory, NothingKeptWithoutAGradientOrAfterTheBackward) {
  const Inputs in = inputs({1, 2, 5, 5}, DType::Float32, 410, false);
  const StdConfig c = config(StdPrior::STD, 4, all());
  EXPECT_THROW(std_fused_saved_bytes(std_block(in.o, in.p, in.ex, c)), ValueError);
  Tensor o = in.o.clone();
  o.set_requires_grad(true);
  const Tensor z = std_block(o, in.p, in.ex, c);
  EXPECT_EQ(std_fused_saved_bytes(z), 4 * 50 * 4);
  z.backward(in.gz);
  EXPECT_EQ(std_fused_saved_bytes(z), 0);
}

TEST(StdMemory, PlanOfThePaperBlocksAtVocShape) {
  const Shape voc{16, 21, 513, 513};
  const int64_t array = 16LL * 21 * 513 * 513 * 4;  // 354 MB
  const StdMemoryPlan a = std_memory_plan(config(StdPrior::STD, 10, {}), voc, DType::Float32);
  EXPECT_EQ(a.every, 1);  // Auto keeps all at T = 10
  EXPECT_EQ(a.kept_bytes, 10 * array);
  EXPECT_EQ(a.segment_bytes, 0);
  const StdMemoryPlan b = std_memory_plan(config(StdPrior::SS, 50, {}), voc, DType::Float32);
  EXPECT_EQ(b.every, 8);  // Auto: checkpoints at T = 50, k = ceil(sqrt(50))
  EXPECT_EQ(b.checkpoints, 7);
  EXPECT_EQ(b.segment, 7);
  const int64_t dual = 16LL * 513 * 513 * 4;
  EXPECT_EQ(b.kept_bytes, 7 * array + 8 * dual);
  EXPECT_EQ(b.segment_bytes, 7 * (array + dual));
  const StdMemoryPlan c = std_memory_plan(config(StdPrior::SS, 50, checkpoints(0, true)), voc,
                                          DType::Float32);
  EXPECT_EQ(c.kept_bytes, 7 * array / 2 + 8 * dual);
  EXPECT_EQ(c.segment_bytes, 7 * (array / 2 + dual) + 2 * array);  // + 2 widened
}

// ---- validation ---------------------------------------------------------------------

TEST(StdMemory, OptionsAreValidated) {
  const Inputs in = inputs({1, 2, 5, 5}, DType::Float64, 420, false);
  StdConfig c = config(StdPrior::STD, 4, checkpoints(-1));
  EXPECT_THROW_MSG(std_block(in.o, in.p, in.ex, c), ValueError,
                   "std: checkpoint_every must be >= 0 (0: ceil(sqrt(T))), got -1");
  c.memory = {StdSave::All, 2, false};
  EXPECT_THROW_MSG(std_block(in.o, in.p, in.ex, c), ValueError,
                   "std: checkpoint_every 2 needs save = checkpoints (or auto), not all");
  c.memory = {StdSave::All, 0, true};
  EXPECT_THROW_MSG(std_block(in.o, in.p, in.ex, c), ValueError,
                   "std: bf16_iterates needs float32 logits, got float64");
  c.memory = checkpoints(2);
  c.impl = StdImpl::Composed;
  EXPECT_THROW_MSG(std_block(in.o, in.p, in.ex, c), ValueError,
                   "std: save = checkpoints, checkpoint_every and bf16_iterates are options of "
                   "the fused form");
  c.memory = all();
  EXPECT_NO_THROW(std_block(in.o, in.p, in.ex, c));
  EXPECT_EQ(parse_std_save("checkpoints"), StdSave::Checkpoints);
  EXPECT_THROW_MSG(parse_std_save("some"), ValueError,
                   "std: unknown save 'some' (auto, all or checkpoints)");
}

// ---- the figures of docs/PERFORMANCE.md ---------------------------------------------

// For STD T = 10, VP-STD T = 10 and SS-STD T = 50 at [2, 21, 129, 129] in float32 (K = 7,
// sigma 5, lambda 1, eps 0.1): each option's forward + backward time, wall clock and the
// process's CPU time (the fastest of 5 each: the machine may be shared; with
// OMP_NUM_THREADS=1 the CPU time is the work, whatever the load), the bytes kept and those
// the backward adds, and the largest relative error (as in relative_error) of its
// gradients against All's; All's own against float64's first.
TEST(StdMemoryFigures, DISABLED_CpuShape) {
  const Shape shape{2, 21, 129, 129};
  for (StdPrior prior : {StdPrior::STD, StdPrior::VP, StdPrior::SS}) {
    const int64_t T = prior == StdPrior::SS ? 50 : 10;
    Inputs in = inputs(shape, DType::Float64, 500, false, 0.1);
    in.p.lambda = Tensor::full({}, 1.0, DType::Float64);
    in.p.sigma = Tensor::full({21}, 5.0, DType::Float64);
    Inputs in32 = in;
    in32.o = in.o.to(DType::Float32), in32.gz = in.gz.to(DType::Float32);
    in32.p = {in.p.lambda.to(DType::Float32), in.p.eps.to(DType::Float32),
              in.p.sigma.to(DType::Float32)};
    in32.ex = {in.ex.volumes.to(DType::Float32), in.ex.centers.to(DType::Float32), Tensor()};
    auto with = [&](StdMemory m) {
      StdConfig c = config(prior, T, m);
      c.kernel_size = 7;
      return c;
    };
    const Result exact = run(in, with(all()));
    Result reference;
    std::printf("%s T=%lld %s\n", std_prior_name(prior), static_cast<long long>(T),
                shape_str(shape).c_str());
    std::printf("  %-18s %7s %7s %8s %9s %9s %11s %9s %10s\n", "save", "wall s", "cpu s",
                "kept MB", "bwd+ MB", "err d o", "err dlambda", "err deps", "err dsigma");
    const std::pair<const char*, StdMemory> options[] = {
        {"all", all()},
        {"checkpoints", checkpoints(0)},
        {"all, bf16", {StdSave::All, 0, true}},
        {"checkpoints, bf16", checkpoints(0, true)},
    };
    for (const auto& [name, m] : options) {
      double wall = INFINITY, cpu = INFINITY;
      Result r;
      for (int repeat = 0; repeat < 5; ++repeat) {
        const auto start = std::chrono::steady_clock::now();
        const std::clock_t cpu_start = std::clock();
        r = run(in32, with(m));
        cpu = std::min(cpu, static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC);
        wall = std::min(
            wall, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
      if (m.save == StdSave::All && !m.bf16_iterates) reference = r;
      const Result& against = m.save == StdSave::All && !m.bf16_iterates ? exact : reference;
      const StdMemoryPlan plan = std_memory_plan(with(m), shape, DType::Float32);
      std::printf("  %-18s %7.3f %7.3f %8.1f %9.1f", name, wall, cpu,
                  r.kept_bytes / 1e6, plan.segment_bytes / 1e6);
      const int width[] = {0, 9, 11, 9, 10};
      for (size_t i = 1; i < r.out.size(); ++i)
        std::printf(" %*.1e", width[i], relative_error(r.out[i], against.out[i]));
      std::printf("%s\n", &against == &exact ? "  (vs float64)" : "");
    }
  }
}

}  // namespace
}  // namespace tdseg::testing
