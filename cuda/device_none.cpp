// cuda/device.h for a build without the CUDA backend.
#include "cuda/device.h"

namespace tdseg::cuda {

bool built_with_cuda() { return false; }

Availability query_devices() {
  return {{}, "no CUDA device (tdseg was built without CUDA: TDSEG_CUDA=OFF, or nvcc or "
              "cuDNN not found)"};
}

std::string library_versions() { return "not built with CUDA"; }

}  // namespace tdseg::cuda
