#include "layers/std/std_block.h"

#include "core/autograd.h"
#include "core/ops.h"
#include "core/ops/map.h"
#include "layers/std/std_composed.h"
#include "layers/std/std_extras.h"
#include "layers/std/std_fused.h"

namespace tdseg {

Tensor std_block(const Tensor& o, const StdParams& params, const StdExtras& extras,
                 const StdConfig& cfg) {
  const StdHostValues values = validate_std(cfg, o, params, extras);
  StdExtras ex = extras;  // data given on the host goes to the logits' device
  for (Tensor* t : {&ex.edge, &ex.volumes, &ex.centers})
    if (t->defined()) *t = t->to(o.device());
  if (cfg.prior == StdPrior::SS && !ex.centers.defined()) {
    InferenceGuard constant;  // the centre is data: no gradient flows through it
    // u_0 = softmax(o / eps), eps the value validate_std read: div_scalar's own map, without
    // its reading eps back from the device once more.
    const Tensor z0 = ops::unary_map("div_scalar", o, ops::fn::Divide{values.eps});
    ex.centers = star_centroids(ops::softmax(z0), cfg.star_class);
  }
  return cfg.impl == StdImpl::Composed ? std_composed(o, params, ex, cfg)
                                       : std_fused(o, params, ex, cfg, values);
}

StdParams std_params(const StdConfig& cfg, int64_t classes, DType dtype) {
  return {Tensor::full({}, cfg.lambda, dtype), Tensor::full({}, cfg.eps, dtype),
          Tensor::full({classes}, cfg.sigma, dtype)};
}

}  // namespace tdseg
