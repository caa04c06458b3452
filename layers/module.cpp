#include "layers/module.h"

namespace tdseg {

void Module::check_name(const std::string& name) const {
  check<ValueError>(!name.empty() && name.find('.') == std::string::npos,
                    "module: invalid name '", name, "' (non-empty, no '.')");
  auto taken = [&](const auto& list) {
    for (const auto& [n, _] : list)
      if (n == name) return true;
    return false;
  };
  check<ValueError>(!taken(parameters_) && !taken(buffers_) && !taken(children_),
                    "module: name '", name, "' registered twice");
}

Tensor Module::register_parameter(const std::string& name, Tensor t) {
  check_name(name);
  check<ValueError>(t.defined(), "module: parameter '", name, "' is undefined");
  t.set_requires_grad(true);
  parameters_.emplace_back(name, t);
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
  check_name(name);
  check<ValueError>(t.defined(), "module: buffer '", name, "' is undefined");
  buffers_.emplace_back(name, t);
  return t;
}

void Module::collect(const std::string& prefix, bool params, Named& out) const {
  for (const auto& [n, t] : params ? parameters_ : buffers_) out.emplace_back(prefix + n, t);
  for (const auto& [n, child] : children_) child->collect(prefix + n + ".", params, out);
}

Module::Named Module::named_parameters() const {
  Named out;
  collect("", true, out);
  return out;
}

Module::Named Module::named_buffers() const {
  Named out;
  collect("", false, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [_, t] : named_parameters()) out.push_back(t);
  return out;
}

int64_t Module::parameter_count() const {
  int64_t n = 0;
  for (const Tensor& t : parameters()) n += t.numel();
  return n;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [_, child] : children_) child->train(on);
}

void Module::zero_grad() const {
  for (const Tensor& t : parameters()) t.zero_grad();
}

void Module::to(Device device) {
  for (const auto& [_, t] : parameters_) move_to_(t, device);
  for (const auto& [_, t] : buffers_) move_to_(t, device);
  for (const auto& [_, child] : children_) child->to(device);
}

Device Module::device() const {
  const std::vector<Tensor> p = parameters();
  return p.empty() ? Device::cpu() : p.front().device();
}

}  // namespace tdseg
