// How tdseg's kernels coalesce their accesses to device memory, counted on the emulated
// GPU (tools/cuda_emulator/traffic.h, Requests), for every kernel of tdseg's own (cuDNN's
// and cuBLAS's are not instrumented) that runs in one training step of the tiny
// STD-DeepLabV3+ (forward, loss, backward, the optimiser's update), in the three STD
// blocks on both kernel sets, and in the memory-bound ops that the step leaves out. A
// kernel whose warps touch sectors they do not use (a strided or transposed access, a
// structure read field by field) wastes bandwidth on a GPU whatever its byte count; here
// it fails. So does one whose shared-memory requests take several times the passes of
// the banks (Banks) their words need. The table of every kernel is printed.
//
// The widths are powers of two, so that planes begin on sector boundaries or share whole
// sectors: what is measured is the kernel's pattern, not where a plane happens to begin.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "core/ops.h"
#include "cuda/ops/batch_norm.h"
#include "cuda/ops/conv2d.h"
#include "tests/tools/std_row.h"
#include "tests/tools/tiny_step.h"
#include "tools/cuda_emulator/traffic.h"

namespace tdseg {
namespace {

using emu::traffic::Banks;
using emu::traffic::Launch;
using emu::traffic::Requests;

struct Kernel {
  int launches = 0;
  Requests loads, stores;
  Banks shared_loads, shared_stores;
};

std::map<std::string, Kernel> by_kernel(const std::vector<Launch>& launches) {
  std::map<std::string, Kernel> k;
  for (const Launch& l : launches) {
    Kernel& s = k[l.kernel];
    ++s.launches;
    s.loads += l.loads;
    s.stores += l.stores;
    s.shared_loads += l.shared_loads;
    s.shared_stores += l.shared_stores;
  }
  return k;
}

uint64_t sectors(const Kernel& k) { return k.loads.sectors + k.stores.sectors; }

void print(const std::map<std::string, Kernel>& kernels) {
  uint64_t all = 0;
  for (const auto& [name, k] : kernels) all += sectors(k);
  std::printf("  %-30s %8s %8s   %s\n", "kernel", "launches", "sectors",
              "loads: sectors/request, used;  stores: the same");
  auto rate = [](const Requests& r) { return r.requests ? double(r.sectors) / r.requests : 0.0; };
  for (const auto& [name, k] : kernels)
    std::printf("  %-30s %8d %7.1f%%   %8.2f %6.2f;  %8.2f %6.2f\n", name.c_str(), k.launches,
                100.0 * double(sectors(k)) / double(all), rate(k.loads), k.loads.efficiency(),
                rate(k.stores), k.stores.efficiency());
  auto passes = [](const Banks& b) { return b.requests ? double(b.wavefronts) / b.requests : 0.0; };
  std::printf("  shared memory: %-15s %8s %8s   %s\n", "", "", "requests",
              "loads: wavefronts/request, used;  stores: the same");
  for (const auto& [name, k] : kernels) {
    const uint64_t requests = k.shared_loads.requests + k.shared_stores.requests;
    if (requests == 0) continue;
    std::printf("  %-30s %8d %8llu   %8.2f %6.2f;  %8.2f %6.2f\n", name.c_str(), k.launches,
                static_cast<unsigned long long>(requests), passes(k.shared_loads),
                k.shared_loads.efficiency(), passes(k.shared_stores), k.shared_stores.efficiency());
  }
}

// The loads and stores of every kernel with 1% or more of all the sectors use at least
// `least` of the sectors they touch. Below 1% a kernel's pattern costs nothing much: the
// optimiser's sums of its per-chunk partials, one thread a tensor, read 0.5 of theirs.
void expect_coalesced(const std::map<std::string, Kernel>& kernels, double least) {
  uint64_t all = 0;
  for (const auto& [name, k] : kernels) all += sectors(k);
  for (const auto& [name, k] : kernels) {
    if (sectors(k) < all / 100) continue;
    EXPECT_GE(k.loads.efficiency(), least) << name << "'s loads";
    EXPECT_GE(k.stores.efficiency(), least) << name << "'s stores";
  }
}

// The loads and stores to shared memory of every kernel with 1% or more of all the shared
// requests take at most 1 / `least` times the wavefronts their words need (Banks).
void expect_conflict_free(const std::map<std::string, Kernel>& kernels, double least) {
  uint64_t all = 0;
  for (const auto& [name, k] : kernels) all += k.shared_loads.requests + k.shared_stores.requests;
  for (const auto& [name, k] : kernels) {
    if (k.shared_loads.requests + k.shared_stores.requests < all / 100 || all == 0) continue;
    EXPECT_GE(k.shared_loads.efficiency(), least) << name << "'s shared loads";
    EXPECT_GE(k.shared_stores.efficiency(), least) << name << "'s shared stores";
  }
}

// What each test below requires of a kernel's share of the sectors it touches that it uses:
// a warp's 32 floats fill 4 sectors, or straddle 5 where a stencil's tap shifts them off a
// sector's start (a blur, a depthwise convolution: 0.8 for such a tap); a strided or
// transposed access uses 0.5 of its sectors or less (the backward of the bilinear resize,
// reading each input pixel's readers straight from dy, used 0.23 of them). And of its
// shared-memory requests, the share of the passes (wavefronts) they take that their words
// need: 1 without a bank conflict, 0.5 for a 2-way one. The resize's backward gathers
// with its lanes s entries apart (BilinearResizeAtDeepLabsFactors below); reading its taps
// as 16-byte structures, unpadded, it took 0.10 of the passes at DeepLabV3+'s factors.
constexpr double kCoalesced = 0.8, kConflictFree = 0.65;

TEST(Coalescing, EveryKernelOfATrainingStep) {
  TinyStep step("std-deeplabv3plus-xception-tiny", {2, 3, 64, 64});
  emu::traffic::start();
  step.run();
  const auto kernels = by_kernel(emu::traffic::stop());
  print(kernels);
  EXPECT_GT(kernels.size(), 15u);
  expect_coalesced(kernels, kCoalesced);
  expect_conflict_free(kernels, kConflictFree);
}

// The STD blocks' forward and backward through the loss, on both kernel sets, with the
// priors' own kernels (VP-STD's plane sums and duals, SS-STD's star field and dual).
TEST(Coalescing, EveryKernelOfTheStdBlocks) {
  std::vector<Launch> launches;
  for (const StdPrior prior : {StdPrior::STD, StdPrior::VP, StdPrior::SS})
    for (const cuda::StdKernels kernels : {cuda::StdKernels::OneKernel, cuda::StdKernels::Passes}) {
      // SS-STD: 12 iterations keep checkpoints, so the backward recomputes too.
      StdRowLaunches n =
          std_row_launches(prior, prior == StdPrior::SS ? 12 : 6, kernels, {2, 21, 24, 64});
      for (auto* half : {&n.forward, &n.backward})
        for (Launch& l : *half) launches.push_back(std::move(l));
    }
  const auto kernels = by_kernel(launches);
  print(kernels);
  expect_coalesced(kernels, kCoalesced);
  expect_conflict_free(kernels, kConflictFree);
}

// The bilinear resize's kernels, forward and backward, over each [in, out] of `widths`
// (rows and columns alike).
std::map<std::string, Kernel> resize_kernels(std::initializer_list<std::array<int64_t, 2>> widths) {
  Generator gen(6);
  const Device gpu = Device::cuda();
  std::vector<Launch> launches;
  for (const auto& [in, out] : widths) {
    Tensor x = Tensor::randn({1, 2, in, in}, gen).to(gpu);
    x.set_requires_grad(true);
    const Tensor dy = Tensor::randn({1, 2, out, out}, gen).to(gpu);
    emu::traffic::start();
    ops::resize_bilinear(x, out, out).backward(dy);
    for (Launch& l : emu::traffic::stop()) launches.push_back(std::move(l));
  }
  return by_kernel(launches);
}

// At DeepLabV3+'s upsampling by 4 (33 -> 129, 129 -> 513: (out - 1) / (in - 1) = 4
// exactly) and by 2 and 8. The backward gathers each input column's readers out of shared
// memory, lane ix about 4 ix onwards, from rows rotated against the bank conflicts that
// stride makes (cuda/ops/resize.cu, rotated()): 0.94 of the passes needed over these,
// where the lanes at the rows' ends, out of the stride, take the rest; 0.70 to 0.81
// without the rotation (each 128-byte row padded instead), 0.17 to 0.57 with neither.
TEST(Coalescing, BilinearResizeAtDeepLabsFactors) {
  const auto kernels = resize_kernels({{33, 65}, {33, 129}, {33, 257}, {129, 513}});
  print(kernels);
  expect_coalesced(kernels, kCoalesced);
  expect_conflict_free(kernels, 0.85);
}

// And elsewhere: an odd factor (3), one that is not an integer (5.18), the same size. The
// padding of every 128-byte row, before the rotation, counted 0.44, 0.45 and 0.70 here;
// now 0.80 together.
TEST(Coalescing, BilinearResizeAtOtherFactors) {
  const auto kernels = resize_kernels({{33, 97}, {100, 513}, {65, 65}});
  print(kernels);
  expect_coalesced(kernels, kCoalesced);
  expect_conflict_free(kernels, kConflictFree);
}

// The memory-bound ops' kernels that the step above does not run at its size: batch norm
// on its two passes, and the handwritten depthwise convolution (cuDNN's by default).
TEST(Coalescing, BatchNormOnTwoPassesAndTheHandwrittenDepthwise) {
  Generator gen(5);
  const Device gpu = Device::cuda();
  const int64_t N = 2, C = 32, S = 32;
  std::vector<Launch> launches;
  auto record = [&](const std::function<void()>& run) {
    emu::traffic::start();
    run();
    for (Launch& l : emu::traffic::stop()) launches.push_back(std::move(l));
  };
  Tensor x = Tensor::randn({N, C, S, S}, gen).to(gpu);
  x.set_requires_grad(true);
  Tensor w = Tensor::randn({C}, gen).to(gpu), bias = Tensor::randn({C}, gen).to(gpu);
  w.set_requires_grad(true);
  bias.set_requires_grad(true);
  const Tensor mean = Tensor::zeros({C}).to(gpu), var = Tensor::ones({C}).to(gpu);
  const cuda::BatchNormKernel bn = cuda::batch_norm_kernel();
  cuda::set_batch_norm_kernel(cuda::BatchNormKernel::TwoPass);
  const Tensor dy = Tensor::randn({N, C, S, S}, gen).to(gpu);
  record([&] { ops::batch_norm2d(x, w, bias, mean, var, true).backward(dy); });
  cuda::set_batch_norm_kernel(bn);

  const cuda::DepthwiseKernel depthwise = cuda::depthwise_kernel();
  cuda::set_depthwise_kernel(cuda::DepthwiseKernel::Handwritten);
  const Tensor filter = Tensor::randn({C, 1, 3, 3}, gen).to(gpu);
  const Tensor y = Tensor::empty({N, C, S, S}).to(gpu), dx = Tensor::empty({N, C, S, S}).to(gpu);
  const Tensor dw = Tensor::empty({C, 1, 3, 3}).to(gpu);
  for (const int64_t dilation : {1, 6}) {
    const ops::Conv2dOptions opt(1, dilation, dilation, C);
    record([&] {
      cuda::conv2d_forward(x, filter, Tensor(), y, opt);
      cuda::conv2d_backward(x, filter, dy, dx, dw, Tensor(), opt);
    });
  }
  cuda::set_depthwise_kernel(depthwise);
  const auto kernels = by_kernel(launches);
  print(kernels);
  expect_coalesced(kernels, kCoalesced);  // none of these kernels uses shared memory
}

}  // namespace
}  // namespace tdseg
