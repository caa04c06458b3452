// One row of `tdseg bench std` on the emulated GPU with the traffic count: loss =
// cross_entropy(block(o), labels) and its backward (dL/do), each half's launches recorded.
// For the tests that count what the STD blocks' kernels do (test_byte_model.cpp,
// test_coalescing.cpp).
#pragma once

#include <vector>

#include "core/ops.h"
#include "layers/std/std_block.h"
#include "layers/std/std_fused_cuda.h"
#include "tools/cuda_emulator/traffic.h"
#include "tools/tdseg/bench_common.h"

namespace tdseg {

struct StdRowLaunches {
  std::vector<emu::traffic::Launch> forward, backward;
};

// prior None is the softmax + NLL baseline. The kernels are the one-kernel iterations
// again afterwards, the default.
inline StdRowLaunches std_row_launches(StdPrior prior, int64_t iters, cuda::StdKernels kernels,
                                       const Shape& shape) {
  Generator gen(7);
  const Device gpu = Device::cuda(0);
  const Tensor labels = cli::random_labels(shape[0], shape[2], shape[3], shape[1], gen);
  StdConfig c;
  c.prior = prior;
  c.iters = iters;
  const StdExtras extras =
      cli::label_extras(labels, shape[1], c.star_class, DType::Float32, gpu);
  const Tensor gpu_labels = labels.to(gpu);
  StdParams p = std_params(c, shape[1], DType::Float32);
  for (Tensor* t : {&p.lambda, &p.eps, &p.sigma}) *t = t->to(gpu);
  cuda::set_std_kernels(kernels);
  Tensor o = Tensor::randn(shape, gen).to(gpu);
  o.set_requires_grad(true);

  StdRowLaunches n;
  emu::traffic::start();
  const Tensor loss =
      ops::cross_entropy(prior == StdPrior::None ? o : std_block(o, p, extras, c), gpu_labels);
  n.forward = emu::traffic::stop();
  emu::traffic::start();
  loss.backward();
  n.backward = emu::traffic::stop();
  cuda::set_std_kernels(cuda::StdKernels::OneKernel);
  return n;
}

}  // namespace tdseg
