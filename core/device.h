// Where a tensor's storage lives. The CPU backend is always present; CUDA devices exist
// when the binary was built with TDSEG_CUDA and a GPU is visible (see cuda/device.h).
#pragma once
#include <algorithm>
#include <optional>
#include <string>

namespace tdseg {

struct Device {
  enum class Kind { CPU, CUDA };
  Kind kind = Kind::CPU;
  int index = 0;

  static Device cpu() { return {Kind::CPU, 0}; }
  static Device cuda(int index = 0) { return {Kind::CUDA, index}; }
  bool is_cpu() const { return kind == Kind::CPU; }
  bool is_cuda() const { return kind == Kind::CUDA; }
  std::string str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }
  bool operator==(const Device& o) const { return kind == o.kind && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
};

// The device a name gives: "cpu", "cuda" (GPU 0) or "cuda:N" with N written without
// leading zeros; nothing for any other text. Whether this machine has it is
// cuda::why_unusable's question (cuda/device.h).
inline std::optional<Device> parse_device(const std::string& name) {
  if (name == "cpu") return Device::cpu();
  if (name == "cuda") return Device::cuda(0);
  const std::string prefix = "cuda:", digits = name.substr(std::min(name.size(), prefix.size()));
  if (name.compare(0, prefix.size(), prefix) != 0 || digits.empty() || digits.size() > 4 ||
      digits.find_first_not_of("0123456789") != std::string::npos ||
      (digits.size() > 1 && digits[0] == '0'))
    return std::nullopt;
  return Device::cuda(std::stoi(digits));
}

}  // namespace tdseg
