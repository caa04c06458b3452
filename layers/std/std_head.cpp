#include "layers/std/std_head.h"

#include "layers/std/std_block.h"

namespace tdseg {

StdHead::StdHead(int64_t classes, const StdConfig& config, DType dtype)
    : config_(config), params_(std_params(config, classes, dtype)) {
  check<ValueError>(classes > 0, "StdHead: classes must be positive, got ", classes);
  if (config.learn_lambda) params_.lambda = register_parameter("lambda", params_.lambda);
  if (config.learn_eps) params_.eps = register_parameter("eps", params_.eps);
  if (config.learn_sigma) params_.sigma = register_parameter("sigma", params_.sigma);
}

Tensor StdHead::forward(const Tensor& logits, const StdExtras& extras) const {
  return std_block(logits, params_, extras, config_);
}

void StdHead::to(Device device) {
  Module::to(device);
  // Frozen lambda, eps and sigma are constants, not module state (a no-op for the
  // learnable ones, which Module::to has moved).
  for (const Tensor* t : {&params_.lambda, &params_.eps, &params_.sigma}) move_to_(*t, device);
}

}  // namespace tdseg
