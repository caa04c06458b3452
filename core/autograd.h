// Reverse-mode autograd. Each op that runs while gradients are enabled and has an input
// that requires a gradient records a Node holding its inputs (the edges of the graph)
// and whatever it saved for its handwritten backward. Tensor::backward() visits the
// nodes in reverse topological order, accumulates gradients into leaves, and releases
// every node it visited (edges and saved tensors), so the graph's memory is freed.
#pragma once
#include <memory>
#include <vector>

#include "core/tensor.h"

namespace tdseg {

struct Node {
  virtual ~Node() = default;
  virtual const char* name() const = 0;
  // Given dL/d(output), returns dL/d(inputs[i]) for each input, in order; an entry may be
  // undefined where inputs[i] needs no gradient.
  virtual std::vector<Tensor> backward(const Tensor& grad_output) = 0;
  // Frees what backward needs; overridden by nodes that saved more than their inputs.
  virtual void release_saved() {}

  std::vector<Tensor> inputs;
  bool released = false;
};

// True unless an InferenceGuard is alive on this thread.
bool grad_enabled();

// While alive, ops record nothing (evaluation, optimiser updates). Nests.
class InferenceGuard {
 public:
  InferenceGuard();
  ~InferenceGuard();
  InferenceGuard(const InferenceGuard&) = delete;
  InferenceGuard& operator=(const InferenceGuard&) = delete;

 private:
  bool previous_;
};

// True when gradients are enabled and any input requires one: the op should record.
bool needs_grad(const std::vector<Tensor>& inputs);

// Makes `node` the grad_fn of `out` with the given inputs when needs_grad(inputs).
// Returns out. Nodes must save outputs only through detach(), to avoid a cycle.
Tensor record(Tensor out, std::vector<Tensor> inputs, std::shared_ptr<Node> node);

// Implementation of Tensor::backward().
void run_backward(const Tensor& root, const Tensor& grad);

}  // namespace tdseg
