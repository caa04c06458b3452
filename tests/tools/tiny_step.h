// A training step of a tiny DeepLabV3+ on the (emulated) GPU: forward, loss, backward and
// the optimiser's update, on a random batch, for the tests that count what a step does
// (test_coalescing.cpp, test_host_calls.cpp).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/ops.h"
#include "core/random.h"
#include "layers/std/std_extras.h"
#include "models/registry.h"
#include "train/optimizer.h"

namespace tdseg {

class TinyStep {
 public:
  // model_name: a registry name with the head's prefix ("", "std-", "vp-std-", "ss-std-").
  TinyStep(const std::string& model_name, const Shape& input, int64_t classes = 5)
      : gen_(3), model_(model_config(model_name, classes), DType::Float32) {
    const Device gpu = Device::cuda();
    model_.train();
    model_.to(gpu);
    optimizer_ = std::make_unique<Optimizer>(model_.named_parameters(),
                                             OptimizerOptions{"sgd", 0.9, 0.999, 4e-5, 1e-3});
    x_ = Tensor::randn(input, gen_).to(gpu);
    std::vector<int32_t> l(input[0] * input[2] * input[3]);
    for (auto& v : l) v = static_cast<int32_t>(gen_.integer(0, classes - 1));  // inclusive
    labels_ = Tensor::from_vector<int32_t>({input[0], input[2], input[3]}, l).to(gpu);
    if (model_.config().head.prior == StdPrior::VP)
      extras_.volumes = volumes_from_labels(labels_, classes, DType::Float32);
  }

  void run() {
    ops::cross_entropy(model_.forward(x_, extras_), labels_).backward();
    optimizer_->step(0.01);
  }

 private:
  Generator gen_;
  DeepLabV3Plus model_;
  std::unique_ptr<Optimizer> optimizer_;
  Tensor x_, labels_;
  StdExtras extras_;
};

}  // namespace tdseg
