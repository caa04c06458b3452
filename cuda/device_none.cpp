// cuda/device.h and core/device_memory.h for a build without the CUDA backend.
#include "core/device_memory.h"
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
void copy(void*, Device dst, const void*, Device src, size_t) {
  throw DeviceError(cat("copy from ", src.str(), " to ", dst.str(), ": ", cuda::kNotBuilt));
}
void zero(void*, Device device, size_t) {
  throw DeviceError(cat("zero: ", device.str(), ": ", cuda::kNotBuilt));
}

}  // namespace tdseg::device_memory
