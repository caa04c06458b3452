// cross_entropy on the CPU, or through its CUDA twins (cuda/ops/cross_entropy.cu).
// Forward, per block of kBlock pixels of one image (the layout of core/ops/softmax.cpp):
// the max over the classes, the sum of exp(x - max), lse = max + log(sum), and each valid
// pixel's loss lse - x[target]. The blocks' partial sums are added in order, so the loss
// does not depend on the number of threads. Backward, one class plane at a time:
//   dx = (exp(x - lse) - [c == target]) * dy / |V|,  0 at ignored pixels.
// Traffic in float32: the forward reads x (C * 4 B per pixel) and the label and writes
// lse; the backward reads x and writes dx: about 12 B per element in all, against about
// 32 B for log_softmax + nll_loss (log_softmax: 12 B forward, 16 B backward; nll_loss's
// backward writes 4 B).
#include "core/ops/cross_entropy.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/autograd.h"
#include "core/device_memory.h"
#include "core/ops/softmax.h"
#include "core/parallel.h"
#include "cuda/ops/cross_entropy.h"

namespace tdseg::ops {

namespace {

constexpr int64_t kBlock = 512;

// lse[n, i] for every pixel; loss[job] and count[job]: the sum of lse - x[target] over
// the valid pixels of job's block, and their number. Labels are already checked.
template <typename T>
void cross_entropy_forward_cpu(int64_t N, int64_t C, int64_t L, const T* x, const int32_t* t,
                               int32_t ignore_index, T* lse, double* loss, double* count) {
  const int64_t blocks = (L + kBlock - 1) / kBlock;
#pragma omp parallel for if (N * C * L >= kParallelMinElements)
  for (int64_t job = 0; job < N * blocks; ++job) {
    const int64_t n = job / blocks, i0 = job % blocks * kBlock, len = std::min(kBlock, L - i0);
    const T* xn = x + n * C * L + i0;
    const int32_t* tn = t + n * L + i0;
    T m[kBlock];
    double s[kBlock];
    channel_max(C, L, len, xn, m);
    std::fill(s, s + len, 0.0);
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < len; ++i) s[i] += std::exp(xn[c * L + i] - m[i]);
    double sum = 0, valid = 0;
    for (int64_t i = 0; i < len; ++i) {
      const double l = m[i] + std::log(s[i]);
      lse[n * L + i0 + i] = static_cast<T>(l);
      if (tn[i] == ignore_index) continue;
      sum += l - xn[tn[i] * L + i];
      valid += 1;
    }
    loss[job] = sum;
    count[job] = valid;
  }
}

template <typename T>
void cross_entropy_backward_cpu(int64_t N, int64_t C, int64_t L, const T* x, const int32_t* t,
                                int32_t ignore_index, const T* lse, double g, T* dx) {
#pragma omp parallel for if (N * C * L >= kParallelMinElements)
  for (int64_t row = 0; row < N * C; ++row) {
    const int64_t n = row / C, c = row % C;
    const T *xr = x + row * L, *ln = lse + n * L;
    const int32_t* tn = t + n * L;
    T* dr = dx + row * L;
    for (int64_t i = 0; i < L; ++i)
      dr[i] = tn[i] == ignore_index
                  ? T(0)
                  : static_cast<T>((std::exp(xr[i] - ln[i]) - (tn[i] == c)) * g);
  }
}

struct CrossEntropyBackward : Node {
  int32_t ignore_index;
  Tensor lse;    // [N, ...] in the logits' dtype (defined at the valid pixels)
  Tensor valid;  // |V|, a float64 scalar on the logits' device
  CrossEntropyBackward(int32_t ig, Tensor l, Tensor v)
      : ignore_index(ig), lse(std::move(l)), valid(std::move(v)) {}
  const char* name() const override { return "cross_entropy"; }
  void release_saved() override {
    lse = Tensor();
    valid = Tensor();
  }
  std::vector<Tensor> backward(const Tensor& dy) override {
    const Tensor x = inputs[0].contiguous(), target = inputs[1].contiguous();
    Tensor dx = Tensor::empty(x.shape(), x.dtype(), x.device());
    if constexpr (kCudaBuilt) {
      if (x.device().is_cuda()) {
        cuda::cross_entropy_backward(x, target, lse, dy, valid, dx, ignore_index);
        return {dx, Tensor()};
      }
    }
    const int64_t N = x.size(0), C = x.size(1), L = N > 0 ? target.numel() / N : 0;
    const double count = valid.item(), g = count > 0 ? dy.item() / count : 0.0;
    dispatch_floating(x.dtype(), name(), [&](auto tag) {
      using T = decltype(tag);
      cross_entropy_backward_cpu(N, C, L, x.data<T>(), target.data<int32_t>(), ignore_index,
                                 lse.data<T>(), g, dx.data<T>());
    });
    return {dx, Tensor()};
  }
};

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& target, int32_t ignore_index) {
  const char* op = "cross_entropy";
  const LossInputs in = check_loss_inputs(op, logits, "logits", target);
  const int64_t N = in.N, C = in.C, L = in.L;
  const Tensor &x = in.scores, &t = in.target;
  Tensor lse = Tensor::empty(target.shape(), logits.dtype(), logits.device());
  Tensor out, valid;
  if constexpr (kCudaBuilt) {
    if (logits.device().is_cuda()) {
      out = Tensor::empty({}, logits.dtype(), logits.device());
      valid = Tensor::empty({}, DType::Float64, logits.device());
      const cuda::BadLabel bad = cuda::cross_entropy_forward(x, t, lse, out, valid, ignore_index);
      if (bad.pixel >= 0) throw_bad_label(op, in, bad.label, bad.pixel, ignore_index);
    }
  }
  if (logits.device().is_cpu()) {
    check_labels_cpu(op, in, ignore_index);
    const int64_t jobs = N * ((L + kBlock - 1) / kBlock);
    std::vector<double> loss(jobs), count(jobs);
    dispatch_floating(logits.dtype(), op, [&](auto tag) {
      using T = decltype(tag);
      cross_entropy_forward_cpu(N, C, L, x.data<T>(), t.data<int32_t>(), ignore_index,
                                lse.data<T>(), loss.data(), count.data());
    });
    double sum = 0, n_valid = 0;
    for (int64_t j = 0; j < jobs; ++j) {
      sum += loss[j];
      n_valid += count[j];
    }
    out = Tensor::full({}, n_valid > 0 ? sum / n_valid : 0.0, logits.dtype());
    valid = Tensor::full({}, n_valid, DType::Float64);
  }
  return record(out, {logits, target},
                std::make_shared<CrossEntropyBackward>(ignore_index, lse, valid));
}

}  // namespace tdseg::ops
