#include "core/autograd.h"

#include <unordered_map>
#include <unordered_set>

#include "core/counters.h"

namespace tdseg {

namespace {
thread_local bool g_grad_enabled = true;
}

bool grad_enabled() { return g_grad_enabled; }

InferenceGuard::InferenceGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
InferenceGuard::~InferenceGuard() { g_grad_enabled = previous_; }

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

Tensor record(Tensor out, std::vector<Tensor> inputs, std::shared_ptr<Node> node) {
  if (!needs_grad(inputs)) return out;
  node->inputs = std::move(inputs);
  counters().graph_bytes += out.numel() * static_cast<int64_t>(dtype_size(out.dtype()));
  out.impl().grad_fn = std::move(node);
  out.impl().requires_grad = true;
  return out;
}

namespace {

// Nodes reachable from root, each after every node that consumes its output. The list
// owns them: releasing a node's inputs must not free a node still to be visited.
std::vector<std::shared_ptr<Node>> topological_order(const std::shared_ptr<Node>& root) {
  std::vector<std::shared_ptr<Node>> post;
  std::unordered_set<Node*> seen{root.get()};
  std::vector<std::pair<std::shared_ptr<Node>, size_t>> stack{{root, 0}};
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs.size()) {
      const Tensor& in = node->inputs[next++];
      if (!in.defined() || !in.grad_fn()) continue;
      const std::shared_ptr<Node>& child = in.grad_fn();
      if (seen.insert(child.get()).second) stack.push_back({child, 0});
    } else {
      post.push_back(node);
      stack.pop_back();
    }
  }
  return {post.rbegin(), post.rend()};
}

// A leaf's gradient owns its buffer (g may alias a saved tensor or another leaf's
// gradient) and later gradients add into it in place.
void accumulate_leaf(std::shared_ptr<TensorImpl>& slot, const Tensor& g) {
  if (!slot) {
    slot = g.clone().impl_ptr();
  } else {
    add_inplace(Tensor(slot), g);
  }
}

// A pending gradient is taken as given and summed out of place, so no buffer that a
// backward() returned is ever written.
void accumulate_pending(std::shared_ptr<TensorImpl>& slot, const Tensor& g) {
  if (!slot) {
    slot = g.impl_ptr();
  } else {
    Tensor sum = Tensor(slot).clone();
    add_inplace(sum, g);
    slot = sum.impl_ptr();
  }
}

}  // namespace

void run_backward(const Tensor& root, const Tensor& grad) {
  check<AutogradError>(root.requires_grad(), "backward: ", root.str(),
                       " does not require a gradient");
  Tensor seed = grad;
  if (!seed.defined()) {
    check<AutogradError>(root.numel() == 1, "backward: ", root.str(),
                         " is not a scalar; pass the gradient of the output");
    seed = Tensor::full(root.shape(), 1.0, root.dtype(), root.device());
  }
  check<ShapeError>(seed.shape() == root.shape() && seed.dtype() == root.dtype(),
                    "backward: gradient ", seed.str(), " does not match output ", root.str());
  InferenceGuard no_record;  // backward computations are not themselves recorded
  if (root.is_leaf()) {
    accumulate_leaf(root.impl().grad, seed);
    return;
  }
  std::unordered_map<Node*, std::shared_ptr<TensorImpl>> pending;
  accumulate_pending(pending[root.grad_fn().get()], seed);
  for (const std::shared_ptr<Node>& node : topological_order(root.grad_fn())) {
    check<AutogradError>(!node->released, "backward: the graph through '", node->name(),
                         "' was already released by an earlier backward()");
    auto it = pending.find(node.get());
    if (it == pending.end()) continue;  // no gradient reached this node
    Tensor g(it->second);
    pending.erase(it);
    std::vector<Tensor> grads = node->backward(g);
    for (size_t i = 0; i < node->inputs.size(); ++i) {
      const Tensor& in = node->inputs[i];
      if (!in.defined() || !in.requires_grad() || i >= grads.size() || !grads[i].defined())
        continue;
      check<ShapeError>(grads[i].shape() == in.shape(), "backward of '", node->name(),
                        "': gradient ", grads[i].str(), " for input ", i, " ", in.str());
      if (in.is_leaf()) accumulate_leaf(in.impl().grad, grads[i]);
      else accumulate_pending(pending[in.grad_fn().get()], grads[i]);
    }
    node->inputs.clear();
    node->release_saved();
    node->released = true;
  }
}

}  // namespace tdseg
