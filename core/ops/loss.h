// Negative log-likelihood over pixels. log_probs [N, C, ...] (e.g. log_softmax output),
// target [N, ...] int32 class indices. Pixels labelled ignore_index do not count:
//   loss = -(1 / |V|) * sum_{(n, i) in V} log_probs[n, target[n, i], i],
//   V = {(n, i) : target[n, i] != ignore_index}; loss = 0 when V is empty.
// A label outside [0, C) other than ignore_index is a ValueError naming the label.
#pragma once
#include "core/tensor.h"

namespace tdseg::ops {

constexpr int32_t kIgnoreIndex = 255;

Tensor nll_loss(const Tensor& log_probs, const Tensor& target,
                int32_t ignore_index = kIgnoreIndex);

}  // namespace tdseg::ops
