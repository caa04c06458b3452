// `tdseg smoke`: forward, backward and SGD steps of TinySegNet on a random batch whose
// labels are a function of the image (so the loss can fall), with per-step timings.
#include <cmath>
#include <cstdio>

#include "core/autograd.h"
#include "core/ops.h"
#include "models/tiny_seg_net.h"
#include "tools/tdseg/commands.h"
#include "tools/tdseg/timing.h"

namespace tdseg::cli {

namespace {

// label[n, h, w] = the bin of x[n, 0, h, w] among `classes` equal bins over [-2, 2].
Tensor labels_from_image(const Tensor& x, int64_t classes) {
  const int64_t N = x.size(0), L = x.size(2) * x.size(3);
  Tensor y = Tensor::empty({N, x.size(2), x.size(3)}, DType::Int32);
  const float* px = x.data<float>();
  int32_t* py = y.data<int32_t>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t i = 0; i < L; ++i) {
      const double u = (px[n * x.size(1) * L + i] + 2.0) / 4.0;
      py[n * L + i] = static_cast<int32_t>(std::clamp<double>(std::floor(u * classes), 0, classes - 1));
    }
  return y;
}

void sgd_step(const Module& net, double lr) {
  for (const Tensor& p : net.parameters()) {
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    float* w = p.data<float>();
    const float* d = g.data<float>();
    for (int64_t i = 0; i < p.numel(); ++i) w[i] -= static_cast<float>(lr) * d[i];
  }
  net.zero_grad();
}

}  // namespace

int cmd_smoke(Args& args) {
  const int64_t batch = args.int_or("batch", 4, 1, 1024);
  const int64_t size = args.int_or("size", 97, 8, 4096);
  const int64_t classes = args.int_or("classes", 5, 2, 255);
  const int64_t width = args.int_or("width", 16, 1, 1024);
  const int64_t steps = args.int_or("steps", 20, 1, 1000000);
  const int64_t seed = args.int_or("seed", 1, 0, INT64_MAX);
  const std::string lr_text = args.option_or("lr", "0.5");
  args.finish(0);
  double lr = 0;
  try {
    lr = std::stod(lr_text);
  } catch (const std::exception&) {
    throw UsageError("smoke: --lr expects a number, got '" + lr_text + "'");
  }
  check<UsageError>(lr > 0 && std::isfinite(lr), "smoke: --lr must be positive, got ", lr_text);
  note_cpu_fallback();

  Generator gen(static_cast<uint64_t>(seed));
  TinySegNet net(3, classes, width, gen);
  const Tensor x = Tensor::randn({batch, 3, size, size}, gen);
  const Tensor y = labels_from_image(x, classes);
  std::printf("TinySegNet: %lld parameters, batch %lldx3x%lldx%lld, %lld classes, cpu\n",
              static_cast<long long>(net.parameter_count()), static_cast<long long>(batch),
              static_cast<long long>(size), static_cast<long long>(size),
              static_cast<long long>(classes));

  std::vector<double> fwd, bwd;
  double first = 0, last = 0;
  for (int64_t step = 1; step <= steps; ++step) {
    const double t0 = now_ms();
    Tensor loss = ops::nll_loss(ops::log_softmax(net.forward(x)), y);
    const double t1 = now_ms();
    loss.backward();
    const double t2 = now_ms();
    {
      InferenceGuard no_record;
      sgd_step(net, lr);
    }
    last = loss.item();
    if (step == 1) first = last;
    fwd.push_back(t1 - t0);
    bwd.push_back(t2 - t1);
    if (!std::isfinite(last)) {
      std::fprintf(stderr, "tdseg: smoke: loss is %g at step %lld\n", last, static_cast<long long>(step));
      return 1;
    }
    if (step == 1 || step == steps || step % 5 == 0)
      std::printf("step %4lld  loss %.4f  forward %7.1f ms  backward %7.1f ms\n",
                  static_cast<long long>(step), last, fwd.back(), bwd.back());
  }
  const double step_ms = median(fwd) + median(bwd);
  std::printf("loss %.4f -> %.4f; median forward %.1f ms, backward %.1f ms, %.1f images/s\n",
              first, last, median(fwd), median(bwd), batch * 1000.0 / step_ms);
  return 0;
}

}  // namespace tdseg::cli
