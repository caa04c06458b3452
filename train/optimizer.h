// The optimisers of training, the learning-rate schedule and gradient clipping, on the
// float32 parameters of a Module with their accumulated gradients g.
//
// Weight decay is an L2 penalty (wd / 2) |w|^2 added to the loss, as the TF DeepLab
// reference's slim.l2_regularizer does: g <- g + wd * w, for the weights of ordinary
// and pointwise convolutions only. Like the reference, it leaves alone batch-norm gamma
// and beta, biases, depthwise weights (regularize_depthwise = False) and the STD head's
// lambda, eps and sigma: decays(name, t) says which.
//   SGD  (tf.train.MomentumOptimizer):  v <- momentum * v + g;  w <- w - lr * v
//   Adam (Kingma and Ba):  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
//        w <- w - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + 1e-8)
// Clipping (PyTorch's clip_grad_norm_, before the decay is added): when the global norm
// |g| = sqrt(sum over all parameters of |g_p|^2) exceeds c > 0, every g_p <- g_p * c / |g|.
// A parameter without a gradient (unused in the step) is not updated and keeps its state.
#pragma once
#include <string>
#include <vector>

#include "layers/module.h"

namespace tdseg {

struct OptimizerOptions {
  std::string kind = "sgd";  // sgd, adam
  double momentum = 0.9;     // SGD momentum; Adam's beta1
  double beta2 = 0.999;      // Adam
  double weight_decay = 0;
  double grad_clip = 0;  // 0: off
};

// The poly schedule of the reference: base * (1 - step / iters)^power, step counted from
// 0 (the first update uses the base rate).
double poly_lr(double base, int64_t step, int64_t iters, double power);

// Whether weight decay applies to the parameter of this full name.
bool decays(const std::string& name, const Tensor& t);

class Optimizer {
 public:
  Optimizer(Module::Named params, const OptimizerOptions& options);
  // One update at learning rate lr from the parameters' gradients, which it then clears.
  // On the GPU the host does not wait: clipping's factor is computed and used there.
  void step(double lr);
  // The global norm |g| of the gradients as they are now (the host waits for it on the GPU).
  double grad_norm() const;
  int64_t steps() const { return steps_; }

  // The state for an exact resume: "optimizer.<slot>.<parameter name>" tensors (slots:
  // momentum; adam_m, adam_v) and "optimizer.steps". load_state requires exactly the
  // tensors state() would return (an IOError naming `source` otherwise).
  Module::Named state() const;
  void load_state(const Module::Named& tensors, const std::string& source);

 private:
  Module::Named params_;
  OptimizerOptions options_;
  std::vector<Tensor> grads() const;  // the defined ones, contiguous
  Tensor device_squares() const;      // their |g_k|^2, float64 on the GPU
  double squared_norm() const;        // of all gradients, in double

  std::vector<Tensor> slot1_, slot2_;  // momentum or Adam's m; Adam's v (on the params' device)
  int64_t steps_ = 0;
};

}  // namespace tdseg
