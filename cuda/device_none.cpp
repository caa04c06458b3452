// cuda/device.h and core/device_memory.h for a build without the CUDA backend.
#include "core/device_memory.h"

#include <cstring>

#include "core/error.h"
#include "cuda/device.h"

namespace tdseg::cuda {

namespace {
const char* kNotBuilt =
    "no CUDA device (tdseg was built without CUDA: TDSEG_CUDA=OFF, or nvcc or cuDNN not found)";
}

bool built_with_cuda() { return false; }

Availability query_devices() { return {{}, kNotBuilt}; }

std::string library_versions() { return "not built with CUDA"; }

}  // namespace tdseg::cuda

namespace tdseg::device_memory {

void* allocate(Device device, size_t) {
  throw DeviceError(cat("storage: ", device.str(), " memory: ", cuda::kNotBuilt));
}
void release(Device, void*) {}
void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    if (bytes) std::memcpy(dst, src, bytes);
    return;
  }
  throw DeviceError(cat("copy from ", src_device.str(), " to ", dst_device.str(), ": ",
                        cuda::kNotBuilt));
}
void zero(void*, Device device, size_t) {
  throw DeviceError(cat("zero: ", device.str(), ": ", cuda::kNotBuilt));
}
Use use(Device device) { throw DeviceError(cat("memory use: ", device.str(), ": ", cuda::kNotBuilt)); }
void reset_peak(Device device) {
  throw DeviceError(cat("memory peak: ", device.str(), ": ", cuda::kNotBuilt));
}
void* allocate_pinned(size_t) { throw DeviceError(cat("pinned host memory: ", cuda::kNotBuilt)); }
void release_pinned(void*) {}

}  // namespace tdseg::device_memory
