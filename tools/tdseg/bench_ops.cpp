// `tdseg bench ops`: the GPU ops of a DeepLabV3+ training step (Xception-65, output stride
// 16, 513x513 crops, batch 16) against the device's own copy bandwidth.
//
// Each row is the median over --repeat runs, after one untimed warm-up (which also runs
// the convolution algorithm searches), of the time between two CUDA events recorded on
// the device's stream around the op. Its rate:
//   convolutions   FLOPs = 2 * N * M * OH * OW * (C/groups) * KH * KW in each direction
//                  (forward, backward data, backward filter), as TFLOP/s;
//   memory-bound   the bytes the op must move at the least (the byte models below), as
//   ops            GB/s and as a fraction of the device-to-device copy's measured GB/s.
// Convolution rows also show the time cudnnFind*AlgorithmEx measured for cuDNN's fastest
// algorithm on the same shape and direction, and our time over it (the goal: <= 1.10).
//
// Byte models (float32, |t| = the elements of t; reading and writing each element once):
//   copy                   2 |buffer| (read, write)
//   depthwise forward      |x| + |w| + |y|
//             backward data |dy| + |w| + |dx|;  backward filter |x| + |dy| + |dw|
//   batch norm fwd + bwd   5 |x|: forward reads x, writes y; backward reads x, dy, writes dx
//                          (per-channel statistics and parameters are negligible): what
//                          the on-chip kernels move; the two passes move 8 |x|, a pass
//                          over x for the statistics and one over x and dy for the sums
//   resize fwd + bwd       2 (|x| + |y|): forward reads x, writes y; backward reads dy,
//                          writes dx
//   optimizer step         24 B a parameter (SGD with the global norm, as train runs it):
//                          the norm reads g (4), the update reads w, g, v, writes w, v (20)
// docs/PERFORMANCE.md has the figures of a run on an H100.
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/ops.h"
#include "cuda/device.h"
#include "models/deeplab.h"
#include "models/registry.h"
#include "tools/tdseg/commands.h"
#include "tools/tdseg/timing.h"
#include "train/optimizer.h"

#if defined(TDSEG_WITH_CUDA)
#include "cuda/context.h"
#include "cuda/cudnn_conv.h"
#include "cuda/ops/batch_norm.h"
#include "cuda/ops/conv2d.h"
#endif

namespace tdseg::cli {

#if defined(TDSEG_WITH_CUDA)

namespace {

struct Row {
  std::string op, shape;
  double ms = 0, flops = 0, bytes = 0;
  double best_ms = 0;  // cuDNN's fastest algorithm, for convolutions; 0 otherwise
  std::string error;   // why the row could not run (e.g. an op without its CUDA twin yet)
};

// Median event-timed milliseconds of fn() on stream s, after one untimed warm-up.
double gpu_median_ms(int repeat, cudaStream_t s, const std::function<void()>& fn) {
  fn();
  TDSEG_CUDA_CHECK(cudaStreamSynchronize(s));
  cuda::Event start, stop;
  std::vector<double> t;
  for (int r = 0; r < repeat; ++r) {
    start.record(s);
    fn();
    stop.record(s);
    stop.synchronize();
    t.push_back(stop.since(start));
  }
  return median(t);
}

// One run of the benchmark: its GPU, its repeat count and the rows so far.
struct Bench {
  Device gpu;
  int repeat;
  std::vector<Row> rows;
  Tensor full(const Shape& shape, double value) const {
    return Tensor::full(shape, value, DType::Float32, gpu);
  }
  Tensor empty(const Shape& shape) const { return Tensor::empty(shape, DType::Float32, gpu); }
};

double bytes_of(const Shape& s) { return 4.0 * numel(s); }

struct ConvCase {
  const char* name;
  int64_t N, C, S, M, K, dilation, groups;  // x [N, C, S, S], w [M, C/groups, K, K]
};

// The convolutions named by the issue: Xception's separable conv of 728 channels (its
// depthwise 3x3 and pointwise 1x1) at both feature sizes, an ASPP atrous depthwise
// branch, and the 1x1 projections of ASPP (2048 -> 256) and of the decoder (256 -> 48).
const ConvCase kConvs[] = {
    {"depthwise 3x3 728", 16, 728, 33, 728, 3, 1, 728},
    {"depthwise 3x3 728", 16, 728, 129, 728, 3, 1, 728},
    {"depthwise 3x3 r6 2048 (ASPP)", 16, 2048, 33, 2048, 3, 6, 2048},
    {"pointwise 1x1 728->728", 16, 728, 33, 728, 1, 1, 1},
    {"pointwise 1x1 728->728", 16, 728, 129, 728, 1, 1, 1},
    {"1x1 2048->256 (ASPP)", 16, 2048, 33, 256, 1, 1, 1},
    {"1x1 256->48 (decoder)", 16, 256, 129, 48, 1, 1, 1},
};

// Calls add(suffix) with each of an op's kernel choices made in turn, whatever the
// default, which is put back afterwards.
template <typename Kernel, typename Add>
void on_each_kernel(Kernel (*current)(), void (*choose)(Kernel),
                    std::initializer_list<std::pair<Kernel, const char*>> kernels, Add&& add) {
  const Kernel previous = current();
  for (const auto& [kernel, suffix] : kernels) {
    choose(kernel);
    add(suffix);
  }
  choose(previous);
}

void bench_conv(const ConvCase& c, Bench& b) {
  const ops::Conv2dOptions opt(1, c.dilation * (c.K / 2), c.dilation, c.groups);
  const Shape xs = {c.N, c.C, c.S, c.S}, ws = {c.M, c.C / c.groups, c.K, c.K};
  const auto [oh, ow] = ops::conv2d_output_size(xs, ws, opt);
  const Shape ys = {c.N, c.M, oh, ow};
  const Tensor x = b.full(xs, 0.01), w = b.full(ws, 0.01), dy = b.full(ys, 0.01);
  const Tensor y = b.empty(ys), dx = b.empty(xs), dw = b.empty(ws);
  const cudaStream_t s = cuda::stream(x);
  const double flops = 2.0 * c.N * c.M * oh * ow * (c.C / c.groups) * c.K * c.K;
  const cuda::ConvBestTimes best = cuda::cudnn_conv_best_times(x, w, dy, opt);
  const bool depthwise = c.groups == c.C && c.groups > 1;
  const std::string shape = shape_str(xs);

  auto add = [&](const std::string& impl) {
    const std::string name = cat(c.name, impl);
    const double fwd = gpu_median_ms(b.repeat, s, [&] { cuda::conv2d_forward(x, w, Tensor(), y, opt); });
    const double bwd_data = gpu_median_ms(
        b.repeat, s, [&] { cuda::conv2d_backward(x, w, dy, dx, Tensor(), Tensor(), opt); });
    const double bwd_filter = gpu_median_ms(
        b.repeat, s, [&] { cuda::conv2d_backward(x, w, dy, Tensor(), dw, Tensor(), opt); });
    // Bytes only for the memory-bound depthwise kind; the rest are rated by FLOPs.
    const double bx = bytes_of(xs), bw = bytes_of(ws), by = bytes_of(ys);
    b.rows.push_back({name + " fwd", shape, fwd, flops, depthwise ? bx + bw + by : 0,
                      best.forward_ms, ""});
    b.rows.push_back({name + " bwd data", shape, bwd_data, flops, depthwise ? by + bw + bx : 0,
                      best.backward_data_ms, ""});
    b.rows.push_back({name + " bwd filter", shape, bwd_filter, flops,
                      depthwise ? bx + by + bw : 0, best.backward_filter_ms, ""});
  };
  if (!depthwise) return add("");
  on_each_kernel(cuda::depthwise_kernel, cuda::set_depthwise_kernel,
                 {{cuda::DepthwiseKernel::Cudnn, " [cuDNN]"},
                  {cuda::DepthwiseKernel::Handwritten, " [handwritten]"}},
                 add);
}

// An op through its public autograd entry, forward + backward; a missing CUDA twin (or
// any other error) becomes the row's error rather than the end of the benchmark.
void bench_autograd(const std::string& name, const Shape& xs, double bytes,
                    const std::function<Tensor(const Tensor&)>& forward, Bench& b) {
  Row row{name, shape_str(xs), 0, 0, bytes, 0, ""};
  try {
    Tensor x = b.full(xs, 0.01);
    x.set_requires_grad(true);
    const Tensor y0 = forward(x);
    const Tensor dy = b.full(y0.shape(), 0.01);
    row.ms = gpu_median_ms(b.repeat, cuda::stream(x), [&] {
      forward(x).backward(dy);
      x.zero_grad();
    });
  } catch (const Error& e) {
    row.error = e.what();
  }
  b.rows.push_back(row);
}

// Training's batch norm on its default kernels and, where a channel fits on chip (N H W at
// most cuda::kBatchNormOnChipValues), again on the two passes.
void bench_batch_norm(const Shape& xs, Bench& b) {
  const int64_t C = xs[1];
  Tensor weight = b.full({C}, 1.0), bias = b.full({C}, 0.0);
  weight.set_requires_grad(true);
  bias.set_requires_grad(true);
  const Tensor running_mean = b.full({C}, 0.0), running_var = b.full({C}, 1.0);
  auto add = [&](const std::string& suffix) {
    bench_autograd("batch norm fwd+bwd" + suffix, xs, 5 * bytes_of(xs), [&](const Tensor& x) {
      weight.zero_grad();
      bias.zero_grad();
      return ops::batch_norm2d(x, weight, bias, running_mean, running_var, true);
    }, b);
  };
  if (xs[0] * xs[2] * xs[3] > cuda::kBatchNormOnChipValues) return add("");
  on_each_kernel(cuda::batch_norm_kernel, cuda::set_batch_norm_kernel,
                 {{cuda::BatchNormKernel::OnChip, " [on chip]"},
                  {cuda::BatchNormKernel::TwoPass, " [two passes]"}},
                 add);
}

void bench_resize(const Shape& xs, int64_t out, Bench& b) {
  const Shape ys = {xs[0], xs[1], out, out};
  bench_autograd(cat("resize bilinear ", xs[2], "->", out, " fwd+bwd"), xs,
                 2 * (bytes_of(xs) + bytes_of(ys)),
                 [&](const Tensor& x) { return ops::resize_bilinear(x, out, out); }, b);
}

// One step of train's optimiser (SGD, momentum, weight decay, clipping at the global norm)
// over the parameters of DeepLabV3+ Xception-65, with fixed gradients.
void bench_optimizer(Bench& b) {
  Row row{"optimizer step (sgd, norm), xception65", "", 0, 0, 0, 0, ""};
  try {
    DeepLabV3Plus model(model_config("deeplabv3plus-xception65", 21));
    model.to(b.gpu);
    const Module::Named params = model.named_parameters();
    Optimizer optimizer(params, {"sgd", 0.9, 0.999, 4e-5, 10.0});
    std::vector<Tensor> grads;
    int64_t values = 0;
    for (const auto& [name, p] : params) {
      grads.push_back(b.full(p.shape(), 1e-3));
      values += p.numel();
    }
    row.shape = cat(params.size(), " tensors");
    row.bytes = 24.0 * values;
    row.ms = gpu_median_ms(b.repeat, cuda::stream(grads.front()), [&] {
      for (size_t k = 0; k < params.size(); ++k) params[k].second.impl().grad = grads[k].impl_ptr();
      optimizer.step(1e-6);
    });
  } catch (const Error& e) {
    row.error = e.what();
  }
  b.rows.push_back(row);
}

// The bandwidth baseline: cudaMemcpyAsync of 256 MiB from one device buffer to another.
Row bench_copy(const Bench& b) {
  const Shape s = {int64_t(64) << 20};
  const size_t bytes = static_cast<size_t>(bytes_of(s));
  const Tensor src = b.full(s, 1.0), dst = b.empty(s);
  const cudaStream_t st = cuda::stream(src);
  const double ms = gpu_median_ms(b.repeat, st, [&] {
    TDSEG_CUDA_CHECK(
        cudaMemcpyAsync(dst.data_ptr(), src.data_ptr(), bytes, cudaMemcpyDeviceToDevice, st));
  });
  return {"copy device to device", shape_str(s), ms, 0, 2 * bytes_of(s), 0, ""};
}

std::string fixed(double v, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

int run_bench_ops(Device gpu, int repeat, bool json) {
  const cuda::DeviceInfo dev = cuda::query_devices().devices.at(gpu.index);
  Bench b{gpu, repeat, {}};
  b.rows.push_back(bench_copy(b));
  const double copy_gbs = b.rows[0].bytes / (b.rows[0].ms * 1e6);
  for (const ConvCase& c : kConvs) bench_conv(c, b);
  bench_batch_norm({16, 728, 33, 33}, b);
  bench_batch_norm({16, 256, 129, 129}, b);
  bench_resize({16, 21, 33, 33}, 129, b);
  bench_resize({16, 21, 129, 129}, 513, b);
  bench_optimizer(b);

  const char* search =
      cuda::conv_algo_search() == cuda::ConvAlgoSearch::Timed ? "timed" : "heuristic";
  const char* depthwise =
      cuda::depthwise_kernel() == cuda::DepthwiseKernel::Cudnn ? "cudnn" : "handwritten";
  nlohmann::json out = nlohmann::json::array();
  if (!json)
    std::printf("GPU ops on %s (%s), float32, TF32 %s, conv algorithm search %s, depthwise "
                "default %s; median of %d runs\n%-44s %-20s %9s %8s %8s %6s %9s %6s\n",
                gpu.str().c_str(), dev.name.c_str(), cuda::allow_tf32() ? "on" : "off", search,
                depthwise, repeat,
                "op", "input", "ms", "TFLOP/s", "GB/s", "/copy", "cuDNN ms", "/cuDNN");
  for (const Row& r : b.rows) {
    const double tflops = r.flops > 0 && r.ms > 0 ? r.flops / (r.ms * 1e9) : 0;
    const double gbs = r.bytes > 0 && r.ms > 0 ? r.bytes / (r.ms * 1e6) : 0;
    const double ratio = r.best_ms > 0 ? r.ms / r.best_ms : 0;
    if (json) {
      nlohmann::json j = {{"op", r.op}, {"input", r.shape}};
      if (!r.error.empty()) {
        j["error"] = r.error;
      } else {
        j["ms"] = r.ms;
        if (r.flops > 0) j["tflops"] = tflops;
        if (r.bytes > 0) {
          j["gbps"] = gbs;
          j["fraction_of_copy"] = gbs / copy_gbs;
        }
        if (r.best_ms > 0) {
          j["cudnn_best_ms"] = r.best_ms;
          j["ratio_to_cudnn_best"] = ratio;
        }
      }
      out.push_back(j);
      continue;
    }
    if (!r.error.empty()) {
      std::printf("%-44s %-20s n/a: %s\n", r.op.c_str(), r.shape.c_str(), r.error.c_str());
      continue;
    }
    std::printf("%-44s %-20s %9.3f %8s %8s %6s %9s %6s\n", r.op.c_str(), r.shape.c_str(), r.ms,
                r.flops > 0 ? fixed(tflops, 2).c_str() : "-",
                r.bytes > 0 ? fixed(gbs, 0).c_str() : "-",
                r.bytes > 0 ? fixed(gbs / copy_gbs, 2).c_str() : "-",
                r.best_ms > 0 ? fixed(r.best_ms, 3).c_str() : "-",
                r.best_ms > 0 ? fixed(ratio, 2).c_str() : "-");
  }
  if (json) std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

}  // namespace

#endif  // TDSEG_WITH_CUDA

int bench_ops(Args& args) {
  const int repeat = static_cast<int>(args.int_or("repeat", 50, 1, 100000));
  const bool json = args.flag("json");
  const cuda::Availability a = cuda::query_devices();
  check<DeviceError>(!a.devices.empty(), "bench ops: needs a GPU: ", a.reason);
  const Device gpu = device_option(args, "bench ops", "cuda");
  check<UsageError>(gpu.is_cuda(), "bench ops: --device must be a GPU (cuda or cuda:N)");
  math_options(args, "bench ops");  // the table's header says which
  args.finish(1);
#if defined(TDSEG_WITH_CUDA)
  return run_bench_ops(gpu, repeat, json);
#else
  (void)repeat, (void)json;
  return 2;  // not reached: a build without CUDA sees no device
#endif
}

}  // namespace tdseg::cli
