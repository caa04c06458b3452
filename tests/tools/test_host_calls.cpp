// What a training step on the GPU asks of the host (tools/cuda_emulator/host_calls.h),
// after a warm-up step: no cudaMalloc or cudaFree (the caching allocator serves every
// tensor), and the synchronisations listed below, no more. Each makes the host wait for
// what it queued before, and leaves the GPU idle until the host queues more: tens of
// microseconds each on a GPU, against a step of hundreds of milliseconds, but a host
// loop or a copy added to a step (SS-STD's star field was one: 35 ms a step) shows here.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "tests/tools/tiny_step.h"
#include "tools/cuda_emulator/host_calls.h"

namespace tdseg {
namespace {

using emu::host_calls::Counts;

TEST(HostCalls, ATrainingStepAllocatesNothingAndWaitsOnlyWhereListed) {
  // The softmax head's step waits 3 times: the loss reads back the first bad label, if
  // any (its error names it); the optimiser reads the global gradient norm, which
  // clipping needs; ASPP's dropout mask, drawn on the host, is copied from pageable
  // memory. The STD blocks read lambda, eps and sigma to the host twice (the checks of
  // std_block, then the fused op's kernel arguments and Gaussian taps) and copy the taps
  // from pageable memory: 7 more. VP-STD reads the volumes twice (checks, then their
  // logarithms) and copies the logarithms back: 3 more. SS-STD, its centres taken from
  // the data, reads eps for them: 1 more.
  const struct {
    const char* head;
    uint64_t syncs;
  } heads[] = {{"", 3}, {"std-", 10}, {"vp-std-", 13}, {"ss-std-", 11}};
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
