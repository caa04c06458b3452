// Conv2d layer: parameters `weight` [out, in/groups, k, k] and optional `bias` [out],
// He-normal initialised (std = sqrt(2 / fan_in)), bias 0.
#pragma once
#include "core/ops/conv2d.h"
#include "layers/module.h"

namespace tdseg {

class Conv2d : public Module {
 public:
  Conv2d(int64_t in, int64_t out, int64_t kernel, const ops::Conv2dOptions& options,
         bool bias, Generator& gen, DType dtype = DType::Float32);
  Tensor forward(const Tensor& x) const { return ops::conv2d(x, weight_, bias_, options_); }

 private:
  ops::Conv2dOptions options_;
  Tensor weight_, bias_;
};

}  // namespace tdseg
