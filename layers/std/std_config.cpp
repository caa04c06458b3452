#include "layers/std/std_config.h"

#include <algorithm>
#include <cmath>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/ops/checks.h"

namespace tdseg {

namespace {

// The values of small tensors, as doubles, in order. Those on `device`, a GPU, come back
// in one copy: the host waits once, not once a tensor. The rest are read one by one.
std::vector<std::vector<double>> read_values(const std::vector<Tensor>& ts, Device device) {
  InferenceGuard no_record;
  const auto packs = [&](const Tensor& t) { return device.is_cuda() && t.device() == device; };
  std::vector<Tensor> flat, on_device;
  for (const Tensor& t : ts) {
    flat.push_back(t.detach().to(DType::Float64).reshape({-1}));
    if (packs(flat.back())) on_device.push_back(flat.back());
  }
  const Tensor packed = on_device.empty() ? Tensor() : host_copy(ops::concat(on_device, 0));
  std::vector<std::vector<double>> values;
  int64_t at = 0;
  for (const Tensor& f : flat) {
    const bool in_packed = packs(f);
    const Tensor host = in_packed ? packed : host_copy(f);
    const double* p = host.data<double>() + (in_packed ? at : 0);
    values.emplace_back(p, p + f.numel());
    if (in_packed) at += f.numel();
  }
  return values;
}

}  // namespace

StdPrior parse_std_prior(const std::string& name) {
  if (name == "none") return StdPrior::None;
  if (name == "std") return StdPrior::STD;
  if (name == "vp") return StdPrior::VP;
  if (name == "ss") return StdPrior::SS;
  throw ValueError("std: unknown prior '" + name + "' (none, std, vp or ss)");
}

const char* std_prior_name(StdPrior p) {
  switch (p) {
    case StdPrior::None: return "none";
    case StdPrior::STD: return "std";
    case StdPrior::VP: return "vp";
    case StdPrior::SS: return "ss";
  }
  return "?";
}

StdSave parse_std_save(const std::string& name) {
  if (name == "auto") return StdSave::Auto;
  if (name == "all") return StdSave::All;
  if (name == "checkpoints") return StdSave::Checkpoints;
  throw ValueError("std: unknown save '" + name + "' (auto, all or checkpoints)");
}

const char* std_save_name(StdSave s) {
  switch (s) {
    case StdSave::Auto: return "auto";
    case StdSave::All: return "all";
    case StdSave::Checkpoints: return "checkpoints";
  }
  return "?";
}

StdMemoryPlan std_memory_plan(const StdConfig& cfg, const Shape& shape, DType dtype) {
  const int64_t T = cfg.prior == StdPrior::None ? 0 : cfg.iters;
  const StdMemory& mem = cfg.memory;
  const bool checkpoints =
      mem.save == StdSave::Checkpoints || (mem.save == StdSave::Auto && T > 10);
  StdMemoryPlan p;
  p.bf16 = mem.bf16_iterates;
  if (checkpoints && T > 0) {
    const auto root = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(T))));
    p.every = std::min(mem.checkpoint_every > 0 ? mem.checkpoint_every : root, T);
  }
  const bool dual = cfg.prior == StdPrior::VP || cfg.prior == StdPrior::SS;
  p.checkpoints = (T + p.every - 1) / p.every;
  p.duals = dual && T > 0 ? p.checkpoints + 1 : 0;
  p.segment = std::max<int64_t>(std::min(p.every, T) - 1, 0);
  p.widened = p.bf16 && T > 0 ? std::min<int64_t>(p.every, 2) : 0;
  const int64_t n = numel(shape), m = cfg.prior == StdPrior::VP ? shape[0] * shape[1]
                                                                   : shape[0] * shape[2] * shape[3];
  const auto element = static_cast<int64_t>(dtype_size(dtype));
  const int64_t iterate = n * (p.bf16 ? 2 : element), dual_bytes = dual ? m * element : 0;
  p.kept_bytes = p.checkpoints * iterate + p.duals * dual_bytes;
  p.segment_bytes = p.segment * (iterate + dual_bytes) + p.widened * n * element;
  return p;
}

StdHostValues validate_std(const StdConfig& cfg, const Tensor& o, const StdParams& params,
                           const StdExtras& extras) {
  const char* op = "std";
  ops::check_defined(op, o, "logits");
  ops::check_floating(op, o);
  ops::check_rank(op, o, 4, "logits [N, C, H, W]");
  const int64_t N = o.size(0), C = o.size(1), H = o.size(2), W = o.size(3);
  check<ShapeError>(N > 0 && C > 0 && H > 0 && W > 0, op, ": empty logits ", shape_str(o.shape()));
  check<ValueError>(cfg.iters >= 0, op, ": iterations must be >= 0, got ", cfg.iters);
  check<ValueError>(cfg.kernel_size >= 1 && cfg.kernel_size % 2 == 1, op, ": kernel size ",
                    cfg.kernel_size, " must be odd and >= 1");
  const StdMemory& mem = cfg.memory;
  check<ValueError>(mem.checkpoint_every >= 0, op,
                    ": checkpoint_every must be >= 0 (0: ceil(sqrt(T))), got ",
                    mem.checkpoint_every);
  check<ValueError>(mem.save != StdSave::All || mem.checkpoint_every == 0, op,
                    ": checkpoint_every ", mem.checkpoint_every,
                    " needs save = checkpoints (or auto), not all");
  check<ValueError>(cfg.impl == StdImpl::Fused ||
                        (mem.save != StdSave::Checkpoints && mem.checkpoint_every == 0 &&
                         !mem.bf16_iterates),
                    op, ": save = checkpoints, checkpoint_every and bf16_iterates are options of "
                    "the fused form (impl = composed keeps what autograd keeps)");
  check<ValueError>(!mem.bf16_iterates || o.dtype() == DType::Float32, op,
                    ": bf16_iterates needs float32 logits, got ", dtype_name(o.dtype()));
  const std::pair<const char*, Shape> shapes[] = {{"lambda", {}}, {"eps", {}}, {"sigma", {C}}};
  const Tensor* tensors[] = {&params.lambda, &params.eps, &params.sigma};
  for (int k = 0; k < 3; ++k) {
    ops::check_defined(op, *tensors[k], shapes[k].first);
    ops::check_same_dtype(op, o, *tensors[k]);
    ops::check_same_device(op, o, *tensors[k]);
    check<ShapeError>(tensors[k]->shape() == shapes[k].second, op, ": ", shapes[k].first, " ",
                      shape_str(tensors[k]->shape()), " must be ", shape_str(shapes[k].second));
  }
  if (cfg.edge_weight) {
    ops::check_defined(op, extras.edge, "edge weight (edge_weight is on)");
    ops::check_same_dtype(op, o, extras.edge);
    check<ShapeError>(extras.edge.shape() == Shape{N, 1, H, W}, op, ": edge weight ",
                      shape_str(extras.edge.shape()), " must be ", shape_str({N, 1, H, W}));
  }
  std::vector<Tensor> wanted = {params.lambda, params.eps, params.sigma};
  if (cfg.prior == StdPrior::VP) {
    ops::check_defined(op, extras.volumes, "volumes (VP-STD needs them)");
    check<ShapeError>(extras.volumes.shape() == Shape{N, C}, op, ": volumes ",
                      shape_str(extras.volumes.shape()), " must be [N, C] = ", shape_str({N, C}),
                      " for logits ", shape_str(o.shape()));
    wanted.push_back(extras.volumes);
  }
  if (cfg.prior == StdPrior::SS) {
    check<ValueError>(cfg.star_class >= 0 && cfg.star_class < C, op, ": star class ",
                      cfg.star_class, " is outside [0, ", C, ")");
    check<ValueError>(!cfg.tau || (*cfg.tau > 0 && std::isfinite(*cfg.tau)), op,
                      ": tau must be positive, got ", cfg.tau.value_or(0));
    if (extras.centers.defined()) {
      check<ShapeError>(extras.centers.shape() == Shape{N, 2}, op, ": centres ",
                        shape_str(extras.centers.shape()), " must be [N, 2] = ",
                        shape_str({N, 2}), " (cx, cy)");
      wanted.push_back(extras.centers);
    }
  }

  const std::vector<std::vector<double>> values = read_values(wanted, o.device());
  StdHostValues v{values[0][0], values[1][0], values[2], {}};
  check<ValueError>(v.eps > 0 && std::isfinite(v.eps), op, ": eps must be positive, got ", v.eps);
  check<ValueError>(std::isfinite(v.lambda), op, ": lambda must be finite, got ", v.lambda);
  for (int64_t c = 0; c < C; ++c)
    check<ValueError>(v.sigma[c] > 0, op, ": sigma of class ", c, " must be positive, got ",
                      v.sigma[c]);
  if (cfg.prior == StdPrior::VP) {
    v.volumes = values[3];
    for (int64_t k = 0; k < N * C; ++k)
      check<ValueError>(v.volumes[k] >= 0 && std::isfinite(v.volumes[k]), op, ": volume ",
                        v.volumes[k], " of image ", k / C, ", class ", k % C,
                        " must be finite and >= 0");
  }
  if (cfg.prior == StdPrior::SS && extras.centers.defined()) {
    const std::vector<double>& c = values[3];
    for (int64_t n = 0; n < N; ++n) {
      const double cx = c[2 * n], cy = c[2 * n + 1];
      check<ValueError>(cx >= 0 && cx <= W - 1 && cy >= 0 && cy <= H - 1, op, ": centre (", cx,
                        ", ", cy, ") of image ", n, " is outside the ", W, "x", H, " image");
    }
  }
  return v;
}

}  // namespace tdseg
