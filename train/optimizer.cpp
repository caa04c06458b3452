#include "train/optimizer.h"

#include <cmath>
#include <map>

#include "core/autograd.h"
#include "core/device_memory.h"
#include "cuda/optimizer.h"

namespace tdseg {

double poly_lr(double base, int64_t step, int64_t iters, double power) {
  check<ValueError>(iters > 0 && step >= 0 && step <= iters, "poly_lr: step ", step,
                    " outside [0, ", iters, "]");
  return base * std::pow(1.0 - static_cast<double>(step) / iters, power);
}

namespace {

// "a.b.c" -> ("a.b", "c"); "c" -> ("", "c").
std::pair<std::string, std::string> split_last(const std::string& dotted) {
  const size_t dot = dotted.rfind('.');
  if (dot == std::string::npos) return {"", dotted};
  return {dotted.substr(0, dot), dotted.substr(dot + 1)};
}

}  // namespace

bool decays(const std::string& name, const Tensor& t) {
  const auto [module, local] = split_last(name);  // [path.]module.weight
  return t.dim() == 4 && local == "weight" && split_last(module).second != "depthwise";
}

Optimizer::Optimizer(Module::Named params, const OptimizerOptions& options)
    : params_(std::move(params)), options_(options) {
  check<ValueError>(options.kind == "sgd" || options.kind == "adam", "optimizer: unknown kind '",
                    options.kind, "' (sgd or adam)");
  for (const auto& [name, p] : params_) {
    check<DTypeError>(p.dtype() == DType::Float32 && p.is_contiguous(), "optimizer: parameter ",
                      name, " must be a contiguous float32 tensor, got ", p.str());
    check<DeviceError>(p.device() == params_.front().second.device(), "optimizer: parameter ",
                       name, " is on ", p.device().str(), ", the first on ",
                       params_.front().second.device().str());
    slot1_.push_back(Tensor::zeros(p.shape(), DType::Float32, p.device()));
    if (options.kind == "adam") slot2_.push_back(Tensor::zeros(p.shape(), DType::Float32, p.device()));
  }
}

std::vector<Tensor> Optimizer::grads() const {
  std::vector<Tensor> out;
  for (const auto& [_, p] : params_)
    if (const Tensor g = p.grad(); g.defined()) out.push_back(g.contiguous());
  return out;
}

// sums[k] = |g_k|^2 on the parameters' device, one device sum per gradient.
Tensor Optimizer::device_squares() const {
  const std::vector<Tensor> gs = grads();
  const Tensor sums = Tensor::empty({static_cast<int64_t>(gs.size())}, DType::Float64,
                                    params_.front().second.device());
  if constexpr (kCudaBuilt) cuda::sum_squares(gs, sums);
  return sums;
}

double Optimizer::squared_norm() const {
  double sq = 0;
  if (params_.empty()) return sq;
  if (params_.front().second.device().is_cuda()) {
    const Tensor host = device_squares().to(Device::cpu());  // added in order, as on the CPU
    for (int64_t k = 0; k < host.numel(); ++k) sq += host.data<double>()[k];
    return sq;
  }
  for (const Tensor& g : grads()) {
    const float* d = g.data<float>();
    for (int64_t i = 0; i < g.numel(); ++i) sq += static_cast<double>(d[i]) * d[i];
  }
  return sq;
}

double Optimizer::grad_norm() const { return std::sqrt(squared_norm()); }

void Optimizer::step(double lr) {
  InferenceGuard no_record;
  const bool clipping = options_.grad_clip > 0 && !params_.empty();
  const bool on_cuda = !params_.empty() && params_.front().second.device().is_cuda();
  // The factor stays on the device there: the host does not wait for the norm.
  Tensor device_clip;
  if (clipping && on_cuda) {
    device_clip = Tensor::empty({}, DType::Float32, params_.front().second.device());
    if constexpr (kCudaBuilt) cuda::clip_factor(device_squares(), options_.grad_clip, device_clip);
  }
  const float clip =
      clipping && !on_cuda ? cuda::clip_scale(squared_norm(), options_.grad_clip) : 1.0f;
  ++steps_;
  const bool adam = options_.kind == "adam";
  const double b1 = options_.momentum, b2 = options_.beta2;
  const double c1 = 1 - std::pow(b1, static_cast<double>(steps_));
  const double c2 = 1 - std::pow(b2, static_cast<double>(steps_));
  std::vector<cuda::UpdateTarget> on_gpu;  // updated together after the loop
  for (size_t k = 0; k < params_.size(); ++k) {
    const auto& [name, p] = params_[k];
    const Tensor grad = p.grad();
    if (!grad.defined()) continue;
    const Tensor g = grad.contiguous();
    const float wd = decays(name, p) ? static_cast<float>(options_.weight_decay) : 0.0f;
    if (p.device().is_cuda()) {
      on_gpu.push_back({p, g, slot1_[k], adam ? slot2_[k] : Tensor(), wd});
      p.zero_grad();  // the update holds g
      continue;
    }
    float* w = p.data<float>();
    const float* d = g.data<float>();
    float* s1 = slot1_[k].data<float>();
    const int64_t n = p.numel();
    if (!adam) {
      const float mom = static_cast<float>(options_.momentum), rate = static_cast<float>(lr);
      for (int64_t i = 0; i < n; ++i) {
        s1[i] = mom * s1[i] + (d[i] * clip + wd * w[i]);
        w[i] -= rate * s1[i];
      }
    } else {
      float* s2 = slot2_[k].data<float>();
      for (int64_t i = 0; i < n; ++i) {
        const double gi = static_cast<double>(d[i]) * clip + wd * w[i];
        s1[i] = static_cast<float>(b1 * s1[i] + (1 - b1) * gi);
        s2[i] = static_cast<float>(b2 * s2[i] + (1 - b2) * gi * gi);
        w[i] -= static_cast<float>(lr * (s1[i] / c1) / (std::sqrt(s2[i] / c2) + 1e-8));
      }
    }
    p.zero_grad();
  }
  if constexpr (kCudaBuilt) {
    const cuda::UpdateScalars s{static_cast<float>(lr), static_cast<float>(b1),
                                device_clip.defined() ? static_cast<const float*>(device_clip.data_ptr()) : nullptr,
                                b1, b2, c1, c2, lr};
    if (adam)
      cuda::adam_update(on_gpu, s);
    else
      cuda::sgd_update(on_gpu, s);
  }
}

Module::Named Optimizer::state() const {
  Module::Named out;
  const bool adam = options_.kind == "adam";
  for (size_t k = 0; k < params_.size(); ++k)
    out.emplace_back(cat("optimizer.", adam ? "adam_m." : "momentum.", params_[k].first),
                     slot1_[k]);
  for (size_t k = 0; k < slot2_.size(); ++k)
    out.emplace_back("optimizer.adam_v." + params_[k].first, slot2_[k]);
  // int32 holds the count: a run of more than 2^31 steps is out of reach here.
  out.emplace_back("optimizer.steps",
                   Tensor::from_vector<int32_t>({}, {static_cast<int32_t>(steps_)}));
  return out;
}

void Optimizer::load_state(const Module::Named& tensors, const std::string& source) {
  std::map<std::string, Tensor> given(tensors.begin(), tensors.end());
  const Module::Named want = state();
  check<IOError>(given.size() == want.size(), source, ": optimizer state has ", given.size(),
                 " tensors, expected ", want.size(), " (another model or optimizer?)");
  for (const auto& [name, t] : want) {
    const auto it = given.find(name);
    check<IOError>(it != given.end(), source, ": optimizer state lacks ", name);
    check<IOError>(it->second.dtype() == t.dtype() && it->second.shape() == t.shape(), source,
                   ": optimizer state ", name, " is ", it->second.str(), ", expected ", t.str());
  }
  for (const auto& [name, t] : want) {
    const Tensor src = given.at(name).contiguous();
    device_memory::copy(t.data_ptr(), t.device(), src.data_ptr(), src.device(),
                        t.numel() * dtype_size(t.dtype()));
  }
  steps_ = static_cast<int64_t>(given.at("optimizer.steps").item());
}

}  // namespace tdseg
