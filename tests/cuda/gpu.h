// Tests that need a GPU start with TDSEG_REQUIRE_GPU(): where there is none (CI, or a
// build without CUDA) they skip and say why.
#pragma once
#include <gtest/gtest.h>

#include <string>

#include "cuda/device.h"

namespace tdseg::testing {

inline std::string gpu_unavailable() {
  static const std::string reason = [] {
    const cuda::Availability a = cuda::query_devices();
    return a.devices.empty() ? a.reason : std::string();
  }();
  return reason;
}

// Whether the GPU is the CPU emulation of one (tools/cuda_emulator): its results count,
// its timing does not.
inline bool gpu_is_emulated() {
  const cuda::Availability a = cuda::query_devices();
  return !a.devices.empty() && a.devices[0].name.find("emulation") != std::string::npos;
}

}  // namespace tdseg::testing

#define TDSEG_REQUIRE_GPU()                                                      \
  do {                                                                           \
    const std::string tdseg_reason_ = ::tdseg::testing::gpu_unavailable();       \
    if (!tdseg_reason_.empty()) GTEST_SKIP() << "needs a GPU: " << tdseg_reason_; \
  } while (0)
