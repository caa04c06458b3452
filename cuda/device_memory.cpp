// core/device_memory.h on CUDA. Every transfer goes through the device's stream, so it is
// ordered after the kernels that produced its source; copies into host memory wait for it.
#include "core/device_memory.h"

#include <cstring>

#include "cuda/context.h"
#include "cuda/pinned_memory.h"

namespace tdseg::device_memory {

void* allocate(Device device, size_t bytes) {
  return cuda::context(device.index).allocator.allocate(bytes);
}

// The block goes back to the cache at once. Kernels queued on the stream that still read
// it run before any kernel that a later owner of the block queues on the same stream.
void release(Device device, void* p) { cuda::context(device.index).allocator.free(p); }

void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (bytes == 0) return;
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
  if (dst_device.is_cuda() && src_device.is_cuda() && dst_device != src_device) {
    cuda::synchronize(src_device.index);  // the source is complete before the peer copy
    cuda::Context& c = cuda::context(dst_device.index);
    TDSEG_CUDA_CHECK(cudaMemcpyPeerAsync(dst, dst_device.index, src, src_device.index, bytes,
                                         c.stream.get()));
    // The source may be freed on return, and its block reused at once by the source
    // device's stream, which does not wait for this one: finish the copy first.
    c.stream.synchronize();
    return;
  }
  cuda::Context& c = cuda::context(src_device.is_cuda() ? src_device.index : dst_device.index);
  TDSEG_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, c.stream.get()));
  // The host reads what it copies in; from pageable memory the driver may still be
  // reading the source on return. From a pinned block, the pool holds the block until the
  // copy's event: the host goes on at once.
  const bool wait = dst_device.is_cpu() ||
                    (src_device.is_cpu() &&
                     !cuda::pinned_pool().record_copy(src, bytes, c.stream.get()));
  if (wait) c.stream.synchronize();
}

Use use(Device device) {
  const CachingAllocator::Stats s = cuda::memory_stats(device.index);
  return {s.in_use, s.peak, s.cached};
}

void reset_peak(Device device) { cuda::context(device.index).allocator.reset_peak(); }

void* allocate_pinned(size_t bytes) { return cuda::pinned_pool().allocate(bytes); }

void release_pinned(void* p) { cuda::pinned_pool().release(p); }

void zero(void* p, Device device, size_t bytes) {
  cuda::Context& c = cuda::context(device.index);
  TDSEG_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, c.stream.get()));
}

}  // namespace tdseg::device_memory
