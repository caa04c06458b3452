// The memory of CUDA devices as the core sees it. The core declares these and the CUDA
// backend defines them (cuda/device_memory.cpp); a build without the backend defines
// them as DeviceError (cuda/device_none.cpp), so no CUDA tensor can ever exist there.
// Copies and fills are ordered on the device's stream; a copy into host memory returns
// once the data is there. A copy from pinned host memory to a device returns at once:
// the pinned block is not reused until the copy is done (cuda/pinned_memory.h). From
// pageable host memory it returns when the copy is done.
#pragma once
#include <cstddef>

#include "core/device.h"

namespace tdseg::device_memory {

void* allocate(Device device, size_t bytes);  // from the device's caching allocator
void release(Device device, void* p);
// Any direction: host to device, device to host, device to device (same or other GPU).
void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);
void zero(void* p, Device device, size_t bytes);
// Page-locked host memory, from the process's pinned pool.
void* allocate_pinned(size_t bytes);
void release_pinned(void* p);

// What a device's caching allocator hands out (cuda/caching_allocator.h): bytes in use
// now, the most in use since the last reset_peak, and bytes kept in its free lists.
struct Use {
  size_t in_use = 0, peak = 0, cached = 0;
};
Use use(Device device);
void reset_peak(Device device);  // the next peak is that of what follows

}  // namespace tdseg::device_memory

namespace tdseg {

// Ops call their CUDA twins (cuda/ops.h) behind `if constexpr (kCudaBuilt)`: in a build
// without the backend the call is a discarded statement and the twin need not exist.
#if defined(TDSEG_WITH_CUDA)
inline constexpr bool kCudaBuilt = true;
#else
inline constexpr bool kCudaBuilt = false;
#endif

}  // namespace tdseg
