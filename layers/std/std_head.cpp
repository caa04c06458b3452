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
  // Frozen lambda, eps and sigma are not module state, so Module::to leaves them on the
  // host: they follow the logits (a no-op for parameters already there).
  StdParams p = params_;
  for (Tensor* t : {&p.lambda, &p.eps, &p.sigma}) *t = t->to(logits.device());
  return std_block(logits, p, extras, config_);
}

}  // namespace tdseg
