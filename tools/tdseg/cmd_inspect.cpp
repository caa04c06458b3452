// `tdseg inspect FILE`: dtype, shape and value statistics of a tensor file (.npy), or of
// every tensor of a checkpoint (safetensors, recognised by its content) with its metadata.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/npy.h"
#include "core/safetensors.h"
#include "tools/tdseg/commands.h"

namespace tdseg::cli {

namespace {

struct Stats {
  double min, max, mean, std;
};

// Of a tensor with at least one element.
Stats stats_of(const Tensor& t) {
  const Tensor v = t.to(DType::Float64);
  const double* p = v.data<double>();
  double lo = std::numeric_limits<double>::infinity(), hi = -lo, s = 0, ss = 0;
  for (int64_t i = 0; i < v.numel(); ++i) {
    lo = std::min(lo, p[i]);
    hi = std::max(hi, p[i]);
    s += p[i];
  }
  const double mean = s / v.numel();
  for (int64_t i = 0; i < v.numel(); ++i) ss += (p[i] - mean) * (p[i] - mean);
  return {lo, hi, mean, std::sqrt(ss / v.numel())};
}

void print_npy(const std::string& path) {
  const Tensor t = load_npy(path);
  std::printf("%s\n  dtype  %s\n  shape  %s  (%lld elements)\n", path.c_str(),
              dtype_name(t.dtype()), shape_str(t.shape()).c_str(),
              static_cast<long long>(t.numel()));
  if (!t.numel()) return;
  const Stats s = stats_of(t);
  std::printf("  min %.6g  max %.6g  mean %.6g  std %.6g\n", s.min, s.max, s.mean, s.std);
}

void print_safetensors(const std::string& path) {
  const SafetensorsFile file = load_safetensors(path);
  int64_t total = 0;
  int name_width = 4, shape_width = 5;
  for (const auto& [name, t] : file.tensors) {
    total += t.numel();
    name_width = std::max(name_width, static_cast<int>(name.size()));
    shape_width = std::max(shape_width, static_cast<int>(shape_str(t.shape()).size()));
  }
  std::printf("%s\n  safetensors: %zu tensor%s, %lld values\n", path.c_str(),
              file.tensors.size(), file.tensors.size() == 1 ? "" : "s",
              static_cast<long long>(total));
  for (const auto& [key, value] : file.metadata)
    std::printf("  metadata  %s = %s\n", key.c_str(), value.c_str());
  if (file.tensors.empty()) return;
  std::printf("  %-*s  %-7s  %-*s  %12s %12s %12s %12s\n", name_width, "name", "dtype",
              shape_width, "shape", "min", "max", "mean", "std");
  for (const auto& [name, t] : file.tensors) {
    std::printf("  %-*s  %-7s  %-*s", name_width, name.c_str(), dtype_name(t.dtype()),
                shape_width, shape_str(t.shape()).c_str());
    if (!t.numel()) {
      std::printf("  %12s %12s %12s %12s\n", "-", "-", "-", "-");
      continue;
    }
    const Stats s = stats_of(t);
    std::printf("  %12.6g %12.6g %12.6g %12.6g\n", s.min, s.max, s.mean, s.std);
  }
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

int cmd_inspect(Args& args) {
  const std::string path = args.positional(0, "FILE");
  args.finish(1);
  // A file that is neither kind is reported by the .npy reader.
  if (ends_with(path, ".safetensors") || looks_like_safetensors(path))
    print_safetensors(path);
  else
    print_npy(path);
  return 0;
}

}  // namespace tdseg::cli
