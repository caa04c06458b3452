// Pinned host memory: bit-exact copies both ways, which addresses the pool knows, a block
// held back until its queued copy is done, reuse without new allocations in the steady
// state, and the loader's pinned batches. (tests/tools/test_host_calls.cpp holds a copy
// pending on the emulated GPU, which otherwise completes each at once.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/ops.h"
#include "cuda/caching_allocator.h"
#include "data/datasets/synthetic.h"
#include "data/loader.h"
#include "tests/check_close.h"
#include "tests/cuda/gpu.h"

#if defined(TDSEG_WITH_CUDA)
#include "cuda/context.h"
#include "cuda/pinned_memory.h"
#endif

namespace tdseg::testing {
namespace {

TEST(PinnedMemory, WithoutAGpuAllocationFailsWithTheReason) {
  if (gpu_unavailable().empty()) GTEST_SKIP() << "this machine has a GPU";
  EXPECT_THROW_MSG(Tensor::empty_pinned({4, 5}), DeviceError, "pinned host memory");
}

#if defined(TDSEG_WITH_CUDA)

TEST(PinnedMemory, CopiesBothWaysAreBitExact) {
  TDSEG_REQUIRE_GPU();
  Generator g(11);
  for (DType t : {DType::Float32, DType::Float64, DType::Int32}) {
    const Tensor x = Tensor::empty_pinned({3, 5, 7, 9}, t);
    EXPECT_TRUE(x.is_pinned());
    EXPECT_EQ(x.device(), Device::cpu());
    const Tensor r = Tensor::uniform(x.shape(), g, -100, 100, DType::Float64).to(t);
    std::memcpy(x.data_ptr(), r.data_ptr(), x.numel() * dtype_size(t));
    const Tensor y = x.to(Device::cuda());
    EXPECT_TRUE(all_close(y.to(Device::cpu()), r, 0, 0)) << dtype_name(t);
  }
  EXPECT_FALSE(Tensor::empty({2}).is_pinned());
}

TEST(PinnedMemory, ThePoolKnowsItsBlocksAndNothingElse) {
  TDSEG_REQUIRE_GPU();
  cuda::PinnedPool& pool = cuda::pinned_pool();
  const cudaStream_t s = cuda::context(0).stream.get();
  const Tensor x = Tensor::empty_pinned({1000});
  const char* p = static_cast<const char*>(x.data_ptr());
  EXPECT_TRUE(pool.record_copy(p, 4000, s));
  EXPECT_TRUE(pool.record_copy(p + 1000, 3000, s));  // a view inside the block
  EXPECT_FALSE(pool.record_copy(p + 1000, 3001, s));  // past the tensor's bytes
  EXPECT_FALSE(pool.record_copy(p - 1, 1, s));
  const Tensor pageable = Tensor::empty({1000});
  EXPECT_FALSE(pool.record_copy(pageable.data_ptr(), 4, s));
}

// Queues work on the device's stream, so that copies queued next are pending while the
// host goes on: 20 passes that read and write 256 MB, 10 GB in all (about 3.5 ms at an
// H100's 3 TB/s); a token amount on the CPU emulation.
Tensor keep_the_stream_busy() {
  const int64_t n = gpu_is_emulated() ? (1 << 16) : (1 << 26);
  Tensor x = Tensor::full({n}, 1.0, DType::Float32, Device::cuda());
  for (int k = 0; k < 20; ++k) x = ops::scale(x, 1.0);
  return x;
}

TEST(PinnedMemory, ABlockIsReusedOnlyAfterItsCopyAndWithoutNewAllocations) {
  TDSEG_REQUIRE_GPU();
  if (!CachingAllocator::caching_from_environment())
    GTEST_SKIP() << "TDSEG_CUDA_CACHING=0: the pool does not cache";
  cuda::PinnedPool& pool = cuda::pinned_pool();
  const int64_t n = 1 << 18;  // 1 MiB a batch
  // Two rounds of 8 batches, each staging tensor dropped as soon as its copy is queued
  // behind a busy stream. A block whose copy is pending is not handed out again, so the
  // first round may take up to 8 new blocks; once the copies have run, they are all back
  // in the cache, and the second round takes none.
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(cat("round ", round));
    const int64_t raw = pool.stats().raw_allocations;
    std::vector<Tensor> on_device;
    const Tensor busy = keep_the_stream_busy();
    for (int k = 0; k < 8; ++k) {
      const Tensor staging = Tensor::empty_pinned({n});
      std::fill_n(staging.data<float>(), n, float(k));
      on_device.push_back(staging.to(Device::cuda()));
    }
    EXPECT_LE(pool.stats().raw_allocations, raw + (round == 0 ? 8 : 0));
    for (int k = 0; k < 8; ++k)  // waits for the copies
      EXPECT_TRUE(all_close(on_device[k].to(Device::cpu()), Tensor::full({n}, k), 0, 0))
          << "copy " << k << " read a block that was already refilled";
  }
}

TEST(PinnedMemory, TheLoaderFillsPinnedBatchesWithTheSameValues) {
  TDSEG_REQUIRE_GPU();
  const SyntheticDataset d("train", 8, 3);
  LoaderOptions o;
  o.batch_size = 4;
  o.crop = {33, 33};
  o.seed = 9;
  o.workers = 1;
  Loader pageable(d, o);
  o.pin_memory = true;
  Loader pinned(d, o);
  for (int k = 0; k < 3; ++k) {
    Batch a, b;
    ASSERT_TRUE(pageable.next(a));
    ASSERT_TRUE(pinned.next(b));
    EXPECT_FALSE(a.images.is_pinned());
    EXPECT_TRUE(b.images.is_pinned() && b.masks.is_pinned());
    EXPECT_TRUE(all_close(b.images, a.images, 0, 0));
    EXPECT_TRUE(all_close(b.masks, a.masks, 0, 0));
    EXPECT_TRUE(all_close(b.images.to(Device::cuda()).to(Device::cpu()), a.images, 0, 0));
  }
}

#endif  // TDSEG_WITH_CUDA

}  // namespace
}  // namespace tdseg::testing
