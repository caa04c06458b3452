// ConvBn: a bias-free convolution, batch norm, and optionally ReLU; the unit the TF
// DeepLab reference builds with slim.conv2d under its arg_scope (normalizer_fn =
// batch_norm, so the convolution has no bias). Children: "conv", "bn".
#pragma once
#include <memory>

#include "layers/batch_norm.h"
#include "layers/conv2d.h"

namespace tdseg {

struct BatchNormOptions {
  double momentum = 0.1;  // weight of the new batch; TF's decay is 1 - momentum
  double eps = 1e-5;
};

class ConvBn : public Module {
 public:
  ConvBn(int64_t in, int64_t out, int64_t kernel, const ops::Conv2dOptions& options, bool relu,
         const BatchNormOptions& bn, Generator& gen, DType dtype = DType::Float32);
  Tensor forward(const Tensor& x) const;

 private:
  bool relu_;
  std::shared_ptr<Conv2d> conv_;
  std::shared_ptr<BatchNorm2d> bn_;
};

}  // namespace tdseg
