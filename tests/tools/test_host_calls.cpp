// What a training step on the GPU asks of the host (tools/cuda_emulator/host_calls.h),
// after a warm-up step: no cudaMalloc or cudaFree (the caching allocator serves every
// tensor), and the synchronisations listed below, no more. Each makes the host wait for
// what it queued before, and leaves the GPU idle until the host queues more: little
// beside a step's kernels, but a host loop or a copy added to a step (SS-STD's star field
// was one: 35 ms a step on the host) shows here. And the pinned pool's release, which
// must not wait for a pending copy either (the second test).
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "cuda/caching_allocator.h"
#include "cuda/pinned_memory.h"
#include "tests/tools/tiny_step.h"
#include "tools/cuda_emulator/host_calls.h"

namespace tdseg {
namespace {

using emu::host_calls::Counts;

TEST(HostCalls, ATrainingStepAllocatesNothingAndWaitsOnlyWhereListed) {
  // The softmax head's step waits once: the loss reads back the first bad label, if any
  // (its error names it). Clipping's factor is made and used on the device, and dropout
  // draws its mask where the data is (core/ops/dropout_mask.h). An STD block waits once
  // more: validate_std reads lambda, eps, sigma (and VP-STD's volumes) back in one copy,
  // for its checks and the fused op's arguments (SS-STD's centres taken from the data
  // use that eps too). Its Gaussian taps and log-volumes go to the device from one
  // page-locked block, released as soon as the copy is queued, without a wait (the next
  // test).
  const struct {
    const char* head;
    uint64_t syncs;
  } heads[] = {{"", 1}, {"std-", 2}, {"vp-std-", 2}, {"ss-std-", 2}};
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

// A staging tensor dropped while its copy is pending (held so on the emulated GPU, whose
// copies otherwise complete at once): its block is put aside, not waited for and not
// handed out again, and goes back to the cache once the copy has completed.
TEST(HostCalls, APinnedBlockIsPutAsideWhileItsCopyIsPendingAndNobodyWaits) {
  cuda::PinnedPool& pool = cuda::pinned_pool();
  const int64_t n = 1 << 12;
  const size_t block = CachingAllocator::size_class(n * sizeof(float));
  const size_t in_use = pool.stats().in_use;
  const Counts before = emu::host_calls::counts();
  emu::host_calls::hold_events(true);
  const void* first = nullptr;
  Tensor on_device;
  {
    const Tensor staging = Tensor::empty_pinned({n});
    first = staging.data_ptr();
    on_device = staging.to(Device::cuda());
  }
  EXPECT_EQ(pool.stats().in_use, in_use + block);  // put aside, still the copy's
  {
    const Tensor other = Tensor::empty_pinned({n});
    EXPECT_NE(other.data_ptr(), first);
    EXPECT_EQ(pool.stats().in_use, in_use + 2 * block);
  }
  EXPECT_EQ(pool.stats().in_use, in_use + block);  // no copy: cached at once
  emu::host_calls::hold_events(false);             // the copy completes
  {
    const Tensor again = Tensor::empty_pinned({n});  // first takes the first block back
    EXPECT_EQ(pool.stats().in_use, in_use + block);
  }
  EXPECT_EQ(pool.stats().in_use, in_use);
  EXPECT_EQ(emu::host_calls::counts().syncs, before.syncs);
}

}  // namespace
}  // namespace tdseg
