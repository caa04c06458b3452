// What the CUDA backend can see. Built without CUDA (TDSEG_CUDA=OFF, or AUTO without nvcc
// and cuDNN) these report no device and say why; built with it, they query the runtime,
// and a machine without a GPU or driver is an answer, never a crash.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/device.h"

namespace tdseg::cuda {

struct DeviceInfo {
  int index = 0;
  std::string name;
  uint64_t total_memory = 0;  // bytes
  int major = 0, minor = 0;   // compute capability
};

struct Availability {
  std::vector<DeviceInfo> devices;
  std::string reason;  // why `devices` is empty; empty when it is not
};

bool built_with_cuda();
Availability query_devices();
// "CUDA runtime 13.0, cuDNN 9.x.y, cuBLAS 13.x.y" or "not built with CUDA".
std::string library_versions();

// Why tensors cannot live on `device` here, "" where they can: no GPU at all (the reason
// query_devices gives), or none of that index (how many there are).
inline std::string why_unusable(Device device) {
  if (device.is_cpu()) return "";
  const Availability a = query_devices();
  if (a.devices.empty()) return a.reason;
  const int count = static_cast<int>(a.devices.size());
  if (device.index < count) return "";
  return "this machine has " + std::to_string(count) + " CUDA device" +
         (count == 1 ? " (cuda:0)" : "s (cuda:0 to cuda:" + std::to_string(count - 1) + ")");
}

}  // namespace tdseg::cuda
