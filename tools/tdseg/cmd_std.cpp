// `tdseg std`: runs one STD block on logits from a .npy file and writes the final iterate
// u_T (and, with --grad-output, the vector-Jacobian product G^T dU/dO), so the blocks can
// be probed from outside: from NumPy, another framework, or a reference implementation.
#include <cstdio>

#include "core/autograd.h"
#include "core/npy.h"
#include "core/ops.h"
#include "layers/std/std_block.h"
#include "tools/tdseg/commands.h"

namespace tdseg::cli {

namespace {

StdImpl parse_impl(const std::string& s) {
  if (s == "fused") return StdImpl::Fused;
  if (s == "composed") return StdImpl::Composed;
  throw UsageError("std: --impl must be composed or fused, got '" + s + "'");
}

// An optional .npy input, converted to the logits' dtype.
Tensor load_optional(Args& args, const std::string& flag, DType dtype) {
  const auto path = args.option(flag);
  if (!path) return Tensor();
  const Tensor t = load_npy(*path);
  check<DTypeError>(is_floating(t.dtype()), "std: --", flag, " ", *path, " holds ",
                    dtype_name(t.dtype()), ", expected float32 or float64");
  return t.to(dtype);
}

}  // namespace

int cmd_std(Args& args) {
  StdConfig c;
  c.prior = parse_std_prior(args.option_or("prior", "std"));
  const std::string logits_path = args.option_or("logits", "");
  const std::string out_path = args.option_or("out", "");
  check<UsageError>(!logits_path.empty(), "std: --logits O.npy is required");
  check<UsageError>(!out_path.empty(), "std: --out U.npy is required");
  c.iters = args.int_or("iters", c.prior == StdPrior::SS ? 50 : 10, INT64_MIN, INT64_MAX);
  c.lambda = args.double_or("lambda", c.lambda);
  c.eps = args.double_or("eps", c.eps);
  c.kernel_size = args.int_or("kernel-size", c.kernel_size, INT64_MIN, INT64_MAX);
  c.sigma = args.double_or("sigma", c.sigma);
  c.star_class = args.int_or("star-class", c.star_class, INT64_MIN, INT64_MAX);
  if (auto tau = args.option("tau")) c.tau = args.double_or("tau", 0);
  c.impl = parse_impl(args.option_or("impl", "fused"));
  c.memory.save = parse_std_save(args.option_or("save", "auto"));
  c.memory.checkpoint_every = args.int_or("checkpoint-every", 0, INT64_MIN, INT64_MAX);
  c.memory.bf16_iterates = args.flag("bf16-iterates");
  const Device where = device_option(args, "std", "cpu");
  const auto grad_out = args.option("grad-output");
  const auto grad_logits_out = args.option("grad-logits-out");
  check<UsageError>(grad_out.has_value() == grad_logits_out.has_value(),
                    "std: --grad-output and --grad-logits-out go together");

  Tensor o = load_npy(logits_path);
  check<DTypeError>(is_floating(o.dtype()), "std: --logits ", logits_path, " holds ",
                    dtype_name(o.dtype()), ", expected float32 or float64");
  check<ShapeError>(o.dim() == 4, "std: --logits ", logits_path, " must be [N, C, H, W], got ",
                    shape_str(o.shape()));
  StdExtras ex;
  ex.volumes = load_optional(args, "volumes", o.dtype());
  ex.centers = load_optional(args, "centers", o.dtype());
  const Tensor g = grad_out ? load_optional(args, "grad-output", o.dtype()) : Tensor();
  args.finish(0);
  check<ValueError>(c.prior != StdPrior::VP || ex.volumes.defined(),
                    "std: --prior vp needs --volumes V.npy ([N, C] target volumes in pixels)");
  if (g.defined())
    check<ShapeError>(g.shape() == o.shape(), "std: --grad-output ", *grad_out, " ",
                      shape_str(g.shape()), " must match the logits ", shape_str(o.shape()));

  o = o.to(where);
  if (g.defined()) o.set_requires_grad(true);
  StdParams params = std_params(c, o.size(1), o.dtype());
  for (Tensor* p : {&params.lambda, &params.eps, &params.sigma}) *p = p->to(where);
  const Tensor u = ops::softmax(std_block(o, params, ex, c));
  save_npy(out_path, u.detach());  // save_npy copies device tensors to the host
  if (g.defined()) {
    u.backward(g.to(where));
    save_npy(*grad_logits_out, o.grad());
  }
  std::printf("%s: %s %s, T=%lld, lambda=%g, eps=%g, K=%lld, sigma=%g, %s -> %s\n",
              std_prior_name(c.prior), dtype_name(o.dtype()), shape_str(o.shape()).c_str(),
              static_cast<long long>(c.prior == StdPrior::None ? 0 : c.iters), c.lambda, c.eps,
              static_cast<long long>(c.kernel_size), c.sigma,
              c.impl == StdImpl::Fused ? "fused" : "composed", out_path.c_str());
  return 0;
}

}  // namespace tdseg::cli
