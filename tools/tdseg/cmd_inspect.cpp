// `tdseg inspect FILE`: dtype, shape and value statistics of a tensor file.
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/npy.h"
#include "tools/tdseg/commands.h"

namespace tdseg::cli {

int cmd_inspect(Args& args) {
  const std::string path = args.positional(0, "FILE");
  args.finish(1);
  const Tensor t = load_npy(path);
  const Tensor v = t.to(DType::Float64);
  const double* p = v.data<double>();
  double lo = std::numeric_limits<double>::infinity(), hi = -lo, s = 0, ss = 0;
  for (int64_t i = 0; i < v.numel(); ++i) {
    lo = std::min(lo, p[i]);
    hi = std::max(hi, p[i]);
    s += p[i];
  }
  const double mean = v.numel() ? s / v.numel() : 0;
  for (int64_t i = 0; i < v.numel(); ++i) ss += (p[i] - mean) * (p[i] - mean);
  std::printf("%s\n  dtype  %s\n  shape  %s  (%lld elements)\n", path.c_str(),
              dtype_name(t.dtype()), shape_str(t.shape()).c_str(),
              static_cast<long long>(t.numel()));
  if (t.numel())
    std::printf("  min %.6g  max %.6g  mean %.6g  std %.6g\n", lo, hi, mean,
                std::sqrt(ss / v.numel()));
  return 0;
}

}  // namespace tdseg::cli
