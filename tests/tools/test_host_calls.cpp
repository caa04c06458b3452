// What a training step on the GPU asks of the host (tools/cuda_emulator/host_calls.h),
// after a warm-up step: no cudaMalloc or cudaFree (the caching allocator serves every
// tensor), and the synchronisations listed below, no more. Each makes the host wait for
// what it queued before, and leaves the GPU idle until the host queues more: little
// beside a step's kernels, but a host loop or a copy added to a step (SS-STD's star field
// was one: 35 ms a step on the host) shows here.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "tests/tools/tiny_step.h"
#include "tools/cuda_emulator/host_calls.h"

namespace tdseg {
namespace {

using emu::host_calls::Counts;

TEST(HostCalls, ATrainingStepAllocatesNothingAndWaitsOnlyWhereListed) {
  // The softmax head's step waits once: the loss reads back the first bad label, if any
  // (its error names it). Clipping's factor is made and used on the device, and dropout
  // draws its mask where the data is (core/ops/dropout_mask.h). An STD block waits twice
  // more: validate_std reads lambda, eps, sigma (and VP-STD's volumes) back in one copy,
  // for its checks and the fused op's arguments; the fused op copies the Gaussian taps
  // (and the log-volumes) from one page-locked block, which it releases once the copies
  // have run. SS-STD takes its centres from the data with the eps validate_std read.
  const struct {
    const char* head;
    uint64_t syncs;
  } heads[] = {{"", 1}, {"std-", 3}, {"vp-std-", 3}, {"ss-std-", 3}};
  for (const auto& [head, syncs] : heads) {
    const std::string name = std::string(head) + "deeplabv3plus-xception-tiny";
    SCOPED_TRACE(name);
    TinyStep step(name, {2, 3, 32, 32});
    step.run();  // the warm-up: the caching allocator's blocks made
    const Counts before = emu::host_calls::counts();
    step.run();
    const Counts after = emu::host_calls::counts();
    std::printf("%s: %llu syncs, %llu cudaMalloc, %llu cudaFree\n", name.c_str(),
                static_cast<unsigned long long>(after.syncs - before.syncs),
                static_cast<unsigned long long>(after.mallocs - before.mallocs),
                static_cast<unsigned long long>(after.frees - before.frees));
    EXPECT_EQ(after.mallocs, before.mallocs);
    EXPECT_EQ(after.frees, before.frees);
    EXPECT_EQ(after.syncs - before.syncs, syncs);
  }
}

}  // namespace
}  // namespace tdseg
