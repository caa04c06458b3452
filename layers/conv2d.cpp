#include "layers/conv2d.h"

#include <cmath>

namespace tdseg {

Conv2d::Conv2d(int64_t in, int64_t out, int64_t kernel, const ops::Conv2dOptions& options,
               bool bias, Generator& gen, DType dtype)
    : options_(options) {
  check<ValueError>(in > 0 && out > 0 && kernel > 0 && options.groups > 0 &&
                        in % options.groups == 0 && out % options.groups == 0,
                    "Conv2d: need positive sizes and groups dividing both channel counts, got in=",
                    in, " out=", out, " kernel=", kernel, " groups=", options.groups);
  const int64_t fan_in = in / options.groups * kernel * kernel;
  weight_ = register_parameter(
      "weight", Tensor::randn({out, in / options.groups, kernel, kernel}, gen, dtype, 0.0,
                              std::sqrt(2.0 / fan_in)));
  if (bias) bias_ = register_parameter("bias", Tensor::zeros({out}, dtype));
}

}  // namespace tdseg
