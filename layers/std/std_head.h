// StdHead: the STD block as a layer that replaces a network's last softmax. It owns the
// block's lambda, eps and per-class sigma; those marked learnable in the config are
// registered as parameters ("lambda", "eps", "sigma") and trained with the network.
// forward() returns z_T: softmax(z_T) is the segmentation, log_softmax(z_T) its log for
// the loss.
#pragma once
#include "layers/module.h"
#include "layers/std/std_config.h"

namespace tdseg {

class StdHead : public Module {
 public:
  StdHead(int64_t classes, const StdConfig& config, DType dtype = DType::Float32);
  Tensor forward(const Tensor& logits, const StdExtras& extras = {}) const;
  void to(Device device) override;  // moves the frozen lambda, eps and sigma too
  const StdConfig& config() const { return config_; }
  const StdParams& params() const { return params_; }

 private:
  StdConfig config_;
  StdParams params_;
};

}  // namespace tdseg
