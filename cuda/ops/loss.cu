// nll_loss over the pixels of [N, C, L], forward and backward, with a deterministic mean.
// Forward: one thread per pixel in a grid-stride loop reads its label (4 B) and, for a
// valid pixel, gathers one log-probability (sizeof(T) B, coalesced within each class
// plane); per-block partial sums and counts in double, then one block adds them in a fixed
// order (like cuda/ops/reduce.cu), so the loss is identical run to run. Labels outside
// [0, C) set a device flag that the host reads once after the kernels.
// Backward: one thread per pixel writes its C gradients, -dy / |V| at the target class of
// a valid pixel and 0 elsewhere: sizeof(T) B written per element plus 4 B per pixel.
#include <cuda_runtime.h>

#include "core/device_memory.h"
#include "cuda/block_reduce.cuh"
#include "cuda/context.h"
#include "cuda/launch.h"
#include "cuda/ops/loss.h"
#include "cuda/ops/loss.cuh"

namespace tdseg::cuda {

namespace {


template <typename T>
__global__ void nll_partials(int64_t P, int64_t C, int64_t L, const T* __restrict__ log_probs,
                             const int32_t* __restrict__ target, int32_t ignore_index,
                             double* __restrict__ partial, unsigned long long* first_bad) {
  // The loss of pixel p = n * L + i with label k: -log_probs[n, k, i].
  loss_partials(P, C, target, ignore_index, partial, first_bad, [=](int64_t p, int32_t k) {
    const int64_t n = p / L;
    return -static_cast<double>(log_probs[(n * C + k) * L + (p - n * L)]);
  });
}

// One block: the partials in a fixed order, then the mean.
template <typename T>
__global__ void mean_of_partials(int blocks, const double* __restrict__ partial, T* out,
                                 double* valid) {
  const double loss = sum_of_shares(partial, blocks);
  const double count = sum_of_shares(partial + blocks, blocks);
  if (threadIdx.x == 0) {
    *out = static_cast<T>(count > 0 ? loss / count : 0.0);
    *valid = count;
  }
}

template <typename T>
__global__ void nll_backward_kernel(int64_t P, int64_t C, int64_t L,
                                    const int32_t* __restrict__ target, int32_t ignore_index,
                                    const T* __restrict__ dy, const double* __restrict__ valid,
                                    T* __restrict__ dx) {
  for (int64_t p = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; p < P;
       p += int64_t(gridDim.x) * blockDim.x) {
    const int64_t n = p / L, base = n * C * L + (p - n * L);  // element (n, 0, i)
    const int32_t k = target[p];
    // A valid pixel exists here, so |V| >= 1.
    const T g = k == ignore_index ? T(0) : static_cast<T>(-static_cast<double>(*dy) / *valid);
    for (int64_t c = 0; c < C; ++c) dx[base + c * L] = c == k ? g : T(0);
  }
}

}  // namespace

LossPartials::LossPartials(const Tensor& target)
    : blocks(partial_blocks(target.numel())),
      partial(Tensor::empty({2 * blocks}, DType::Float64, target.device())),
      first_bad(Tensor::empty({1}, DType::Float64, target.device())) {
  TDSEG_CUDA_CHECK(cudaMemsetAsync(first_bad_ptr(), 0xff, sizeof(unsigned long long),
                                   stream(target)));
}

unsigned long long* LossPartials::first_bad_ptr() const {
  return static_cast<unsigned long long*>(first_bad.data_ptr());
}

BadLabel LossPartials::finish(const Tensor& target, const Tensor& out,
                              const Tensor& valid) const {
  dispatch_floating(out.dtype(), "cuda loss", [&](auto tag) {
    using T = decltype(tag);
    mean_of_partials<<<1, kMaxPartials, 0, stream(out)>>>(blocks, ptr<double>(partial), ptr<T>(out),
                                                  ptr<double>(valid));
  });
  TDSEG_LAUNCH_CHECK();
  unsigned long long first = 0;
  device_memory::copy(&first, Device::cpu(), first_bad_ptr(), first_bad.device(), sizeof first);
  BadLabel bad;
  if (first == ~0ull) return bad;
  bad.pixel = static_cast<int64_t>(first);
  device_memory::copy(&bad.label, Device::cpu(), ptr<int32_t>(target) + bad.pixel,
                      target.device(), sizeof bad.label);
  return bad;
}

BadLabel nll_loss_forward(const Tensor& log_probs, const Tensor& target, const Tensor& out,
                          const Tensor& valid, int32_t ignore_index) {
  const int64_t P = target.numel(), N = log_probs.size(0), C = log_probs.size(1);
  const int64_t L = N > 0 ? P / N : 0;
  const LossPartials partials(target);
  dispatch_floating(log_probs.dtype(), "cuda nll_loss", [&](auto tag) {
    using T = decltype(tag);
    nll_partials<<<partials.blocks, kThreads, 0, stream(target)>>>(
        P, C, L, ptr<T>(log_probs), ptr<int32_t>(target), ignore_index,
        ptr<double>(partials.partial), partials.first_bad_ptr());
  });
  TDSEG_LAUNCH_CHECK();
  return partials.finish(target, out, valid);
}

void nll_loss_backward(const Tensor& target, const Tensor& dy, const Tensor& valid,
                       const Tensor& dx, int32_t ignore_index) {
  const int64_t P = target.numel();
  if (dx.numel() == 0 || P == 0) return;
  const int64_t N = dx.size(0), C = dx.size(1), L = P / N;
  dispatch_floating(dx.dtype(), "cuda nll_loss backward", [&](auto tag) {
    using T = decltype(tag);
    nll_backward_kernel<<<blocks_for(P), kThreads, 0, stream(dx)>>>(
        P, C, L, ptr<int32_t>(target), ignore_index, ptr<T>(dy), ptr<double>(valid), ptr<T>(dx));
  });
  TDSEG_LAUNCH_CHECK();
}

}  // namespace tdseg::cuda
