// Module: a node of the model tree that owns parameters (trained), buffers (saved but not
// trained, e.g. batch-norm running statistics) and child modules, each under a local
// name. Full names join the path with dots, e.g.
//   backbone.entry_flow.block1.sepconv1.depthwise.weight
// which is how checkpoints and weight import address every tensor.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace tdseg {

class Module {
 public:
  using Named = std::vector<std::pair<std::string, Tensor>>;

  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  Named named_parameters() const;  // depth-first, in registration order
  Named named_buffers() const;
  std::vector<Tensor> parameters() const;
  int64_t parameter_count() const;

  // Training mode (batch statistics, dropout) for this module and all its children.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void zero_grad() const;
  // Moves every parameter and buffer of the tree to `device` in place (handles to them
  // stay valid). A module with tensors of its own that are neither overrides it.
  virtual void to(Device device);
  Device device() const;  // where the parameters live (cpu for a module without any)

 protected:
  // Local names are non-empty, contain no '.', and are unique within the module.
  Tensor register_parameter(const std::string& name, Tensor t);
  Tensor register_buffer(const std::string& name, Tensor t);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    check_name(name);
    children_.emplace_back(name, m);
    return m;
  }

 private:
  void check_name(const std::string& name) const;
  void collect(const std::string& prefix, bool params, Named& out) const;

  Named parameters_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// A named group of children with no computation of its own, for the levels of a
// hierarchy such as "entry_flow" in backbone.entry_flow.block1.
class ModuleGroup : public Module {
 public:
  template <typename M>
  std::shared_ptr<M> add(const std::string& name, std::shared_ptr<M> m) {
    return register_module(name, std::move(m));
  }
};

}  // namespace tdseg
