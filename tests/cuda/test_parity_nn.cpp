// CPU/GPU parity of the network ops: batch norm (training and evaluation, with the running
// statistics after the call), the fused batch norm + ReLU, the plane and channel
// broadcasts, slice, global average pooling, concat, bilinear resize, flip_width, image_grad and
// image_div, and gaussian_kernel with sigma on the GPU. Sizes are odd, C in {1, 21, 256},
// batch 1 and 16.
// Tolerances (|gpu - cpu| <= atol + rtol * |cpu|, outputs and input gradients alike):
//   float32 maps 1e-5; float32 reductions (sums over planes, channels or a batch norm's
//   M = N*H*W values, and resize's backward, which sums up to 4 * (in/out)^2 outputs
//   per input pixel) atol 1e-4, rtol 1e-5: both devices sum in double, but the CPU's
//   resize backward adds float32 contributions, in another order; float64 1e-10.
#include <gtest/gtest.h>

#include <memory>

#include "core/ops.h"
#include "tests/check_close.h"
#include "tests/cuda/gpu.h"
#include "tests/cuda/parity.h"
#if defined(TDSEG_WITH_CUDA)
#include "cuda/ops/batch_norm.h"
#endif

namespace tdseg::testing {
namespace {

using V = const std::vector<Tensor>&;
constexpr DType F64 = DType::Float64;

ParityCase with_tolerance(ParityCase c, double atol, double rtol) {
  c.atol = atol;
  c.rtol = rtol;
  return c;
}

ParityCase map_case(ParityCase c) { return with_tolerance(std::move(c), 1e-5, 1e-5); }
ParityCase reduction_case(ParityCase c) { return with_tolerance(std::move(c), 1e-4, 1e-5); }
ParityCase f64_case(ParityCase c) { return with_tolerance(std::move(c), 1e-10, 1e-10); }

// The running statistics each call of a batch norm case left behind: the CPU's first,
// then the GPU's.
struct RunningStats {
  std::vector<Tensor> mean, var;
};

// batch_norm2d (or batch_norm_relu2d) of x [N, C, H, W] with weight in [0.5, 1.5), a
// random bias, and running statistics drawn from a fixed seed on x's device. x is normal,
// or uniform in [offset - 1, offset + 1) when offset is not 0 (a mean far from 0 against
// the spread: the GPU's one-pass variance must lose no digits there).
ParityCase bn_case(const std::string& name, Shape shape, DType dtype, bool training, bool relu,
                   std::shared_ptr<RunningStats> after, double offset) {
  const int64_t C = shape[1];
  auto op = [=](V x) {
    Generator gen(7);
    const Tensor rm = Tensor::randn({C}, gen, dtype).to(x[0].device());
    const Tensor rv = Tensor::uniform({C}, gen, 0.5, 2.0, dtype).to(x[0].device());
    const auto bn = relu ? ops::batch_norm_relu2d : ops::batch_norm2d;
    Tensor y = bn(x[0], x[1], x[2], rm, rv, training, 0.1, 1e-5);
    after->mean.push_back(rm);
    after->var.push_back(rv);
    return y;
  };
  return {name,
          {offset == 0 ? randn_input(shape, dtype)
                       : uniform_input(shape, offset - 1, offset + 1, dtype),
           uniform_input({C}, 0.5, 1.5, dtype),
           randn_input({C}, dtype)},
          op};
}

#if defined(TDSEG_WITH_CUDA)
// While alive: batch norm's training kernels are `kernel`; then those before.
struct KernelChoice {
  explicit KernelChoice(cuda::BatchNormKernel kernel) { cuda::set_batch_norm_kernel(kernel); }
  ~KernelChoice() { cuda::set_batch_norm_kernel(previous); }
  const cuda::BatchNormKernel previous = cuda::batch_norm_kernel();
};

TEST(GpuParity, BatchNorm) {
  TDSEG_REQUIRE_GPU();
  struct Case {
    const char* name;
    Shape shape;
    DType dtype;
    bool training, relu;
    double offset = 0;
  };
  const Case cases[] = {
      {"train", {16, 21, 33, 31}, DType::Float32, true, false},
      {"train C=256", {16, 256, 9, 7}, DType::Float32, true, false},
      {"train C=1 batch 1", {1, 1, 17, 13}, DType::Float32, true, false},
      {"train 1x1 planes", {16, 21, 1, 1}, DType::Float32, true, false},
      {"eval", {16, 21, 17, 13}, DType::Float32, false, false},
      {"eval batch 1 C=256", {1, 256, 9, 7}, DType::Float32, false, false},
      {"train float64", {2, 21, 17, 13}, F64, true, false},
      {"eval float64", {2, 21, 17, 13}, F64, false, false},
      {"relu train", {16, 256, 9, 7}, DType::Float32, true, true},
      {"relu train C=1", {16, 1, 17, 13}, DType::Float32, true, true},
      {"relu eval", {1, 21, 33, 33}, DType::Float32, false, true},
      {"relu train float64", {2, 21, 17, 13}, F64, true, true},
      {"relu eval float64", {1, 21, 17, 13}, F64, false, true},
      {"train mean 1000", {16, 21, 17, 13}, DType::Float32, true, false, 1000},
      {"train mean -3000 float64", {2, 21, 17, 13}, F64, true, false, -3000},
      {"train channels past the on-chip kernels' 18432", {16, 3, 37, 33}, DType::Float32, true, true},
  };
  // Training on the on-chip kernels where a channel fits (all but the last case), then on
  // the two passes everywhere.
  for (const cuda::BatchNormKernel kernel : {cuda::BatchNormKernel::OnChip, cuda::BatchNormKernel::TwoPass})
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    SCOPED_TRACE(kernel == cuda::BatchNormKernel::OnChip ? "on chip" : "two passes");
    const KernelChoice choice(kernel);
    const bool f64 = k.dtype == F64;
    auto after = std::make_shared<RunningStats>();
    ParityCase c = bn_case(k.name, k.shape, k.dtype, k.training, k.relu, after, k.offset);
    expect_parity(f64 ? f64_case(c) : reduction_case(c));
    ASSERT_EQ(after->mean.size(), 2u);
    const double tol = f64 ? 1e-10 : 1e-6;  // one cast to T of a double blend
    EXPECT_TRUE(all_close(after->mean[1].to(Device::cpu()), after->mean[0], tol, tol))
        << "running mean";
    EXPECT_TRUE(all_close(after->var[1].to(Device::cpu()), after->var[0], tol, tol))
        << "running var";
  }
}

#endif  // TDSEG_WITH_CUDA

TEST(GpuParity, BatchNormWithoutRunningStats) {
  TDSEG_REQUIRE_GPU();
  const Shape shape = {16, 21, 17, 13};
  expect_parity(reduction_case(
      {"training without running statistics",
       {randn_input(shape), uniform_input({21}, 0.5, 1.5), randn_input({21})},
       [](V x) { return ops::batch_norm_relu2d(x[0], x[1], x[2], Tensor(), Tensor(), true); }}));
}

std::vector<ParityCase> broadcast_cases() {
  auto spatial_sum = [](V x) { return ops::spatial_sum(x[0]); };
  auto global_avg_pool = [](V x) { return ops::global_avg_pool(x[0]); };
  auto sum_channels = [](V x) { return ops::sum_channels(x[0]); };
  auto add_per_plane = [](V x) { return ops::add_per_plane(x[0], x[1]); };
  std::vector<ParityCase> c;
  for (const Shape& s : {Shape{16, 256, 9, 7}, Shape{1, 21, 33, 33}, Shape{1, 1, 1, 1}}) {
    c.push_back(reduction_case({"spatial_sum", {randn_input(s)}, spatial_sum}));
    c.push_back(reduction_case({"global_avg_pool", {randn_input(s)}, global_avg_pool}));
    c.push_back(reduction_case({"sum_channels", {randn_input(s)}, sum_channels}));
    c.push_back(reduction_case(
        {"add_per_plane", {randn_input(s), randn_input({s[0], s[1]})}, add_per_plane}));
  }
  c.push_back(reduction_case({"expand_channels 21", {randn_input({16, 1, 17, 13})},
                              [](V x) { return ops::expand_channels(x[0], 21); }}));
  c.push_back(reduction_case({"expand_channels 256", {randn_input({1, 1, 33, 31})},
                              [](V x) { return ops::expand_channels(x[0], 256); }}));
  c.push_back(map_case({"slice channels", {randn_input({16, 21, 17, 13})},
                        [](V x) { return ops::slice(x[0], 1, 3, 10); }}));
  c.push_back(map_case({"slice batch", {randn_input({16, 21, 17, 13})},
                        [](V x) { return ops::slice(x[0], 0, 5, 16); }}));
  c.push_back(map_case({"slice columns", {randn_input({1, 256, 9, 7})},
                        [](V x) { return ops::slice(x[0], 3, 2, 5); }}));
  c.push_back(map_case({"slice rank 2", {randn_input({21, 13})},
                        [](V x) { return ops::slice(x[0], 1, 0, 1); }}));
  const Shape s64 = {2, 21, 17, 13};
  c.push_back(f64_case({"spatial_sum float64", {randn_input(s64, F64)}, spatial_sum}));
  c.push_back(f64_case({"global_avg_pool float64", {randn_input(s64, F64)}, global_avg_pool}));
  c.push_back(f64_case({"sum_channels float64", {randn_input(s64, F64)}, sum_channels}));
  c.push_back(f64_case({"add_per_plane float64",
                        {randn_input(s64, F64), randn_input({2, 21}, F64)}, add_per_plane}));
  c.push_back(f64_case({"expand_channels float64", {randn_input({2, 1, 17, 13}, F64)},
                        [](V x) { return ops::expand_channels(x[0], 21); }}));
  c.push_back(f64_case({"slice float64", {randn_input(s64, F64)},
                        [](V x) { return ops::slice(x[0], 2, 4, 17); }}));
  return c;
}

TEST(GpuParity, Broadcast) {
  TDSEG_REQUIRE_GPU();
  for (const ParityCase& c : broadcast_cases()) expect_parity(c);
}

TEST(GpuParity, SliceInt32) {
  TDSEG_REQUIRE_GPU();
  std::vector<int32_t> v(2 * 21 * 5 * 7);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int32_t>(i * 7 % 255);
  const Tensor x = Tensor::from_vector({2, 21, 5, 7}, v);
  const Tensor y = ops::slice(x.to(Device::cuda()), 1, 4, 11);
  ASSERT_EQ(y.device(), Device::cuda());
  EXPECT_TRUE(all_close(y.to(Device::cpu()), ops::slice(x, 1, 4, 11), 0, 0));
}

std::vector<ParityCase> concat_cases() {
  auto cat = [](int dim) { return [dim](V x) { return ops::concat(x, dim); }; };
  return {
      map_case({"concat 2 channels",
                {randn_input({16, 21, 17, 13}), randn_input({16, 256, 17, 13})},
                cat(1)}),
      map_case({"concat 3 channels",
                {randn_input({1, 256, 33, 33}), randn_input({1, 48, 33, 33}),
                 randn_input({1, 1, 33, 33})},
                cat(1)}),
      map_case({"concat batch", {randn_input({1, 21, 17, 13}), randn_input({16, 21, 17, 13})},
                cat(0)}),
      map_case({"concat columns", {randn_input({2, 21, 17, 1}), randn_input({2, 21, 17, 13})},
                cat(3)}),
      f64_case({"concat float64",
                {randn_input({2, 21, 17, 13}, F64), randn_input({2, 1, 17, 13}, F64),
                 randn_input({2, 5, 17, 13}, F64)},
                cat(1)}),
  };
}

TEST(GpuParity, Concat) {
  TDSEG_REQUIRE_GPU();
  for (const ParityCase& c : concat_cases()) expect_parity(c);
}

std::vector<ParityCase> resize_cases() {
  auto resize = [](int64_t h, int64_t w) {
    return [h, w](V x) { return ops::resize_bilinear(x[0], h, w); };
  };
  return {
      reduction_case({"resize 33->129", {randn_input({1, 21, 33, 33})}, resize(129, 129)}),
      reduction_case({"resize 129->513", {randn_input({1, 21, 129, 129})}, resize(513, 513)}),
      reduction_case({"resize 17x13->5x7", {randn_input({16, 3, 17, 13})}, resize(5, 7)}),
      reduction_case(
          {"resize 17x13->33x25 C=256", {randn_input({1, 256, 17, 13})}, resize(33, 25)}),
      reduction_case({"resize 1x1->5x7", {randn_input({2, 3, 1, 1})}, resize(5, 7)}),
      reduction_case({"resize 5x7->1x1", {randn_input({2, 3, 5, 7})}, resize(1, 1)}),
      reduction_case({"resize 1x1->1x1", {randn_input({2, 3, 1, 1})}, resize(1, 1)}),
      reduction_case({"resize 17x13->1x9", {randn_input({2, 3, 17, 13})}, resize(1, 9)}),
      reduction_case({"resize identity", {randn_input({16, 1, 17, 13})}, resize(17, 13)}),
      // The backward's tiles: rows wider than a block (W = 300 > 256 threads), and more
      // readers than a chunk of shared memory holds (OW = 2500 > 1024 columns).
      reduction_case({"resize 5x300->7x700", {randn_input({1, 2, 5, 300})}, resize(7, 700)}),
      reduction_case({"resize 3x9->2x2500", {randn_input({1, 2, 3, 9})}, resize(2, 2500)}),
      // Upsampling by 4, the gather's rows rotated, its readers in two chunks of 1024.
      reduction_case({"resize 5x257->9x1025", {randn_input({1, 2, 5, 257})}, resize(9, 1025)}),
      reduction_case({"resize 2x2500->3x9", {randn_input({1, 2, 2, 2500})}, resize(3, 9)}),
      // More planes than a grid's y extent (65535): the kernels loop over the rest.
      reduction_case({"resize 66000 planes", {randn_input({2, 33000, 3, 2})}, resize(5, 3)}),
      f64_case({"resize float64 up", {randn_input({2, 21, 17, 13}, F64)}, resize(65, 49)}),
      f64_case({"resize float64 down", {randn_input({2, 21, 17, 13}, F64)}, resize(5, 7)}),
  };
}

TEST(GpuParity, ResizeBilinear) {
  TDSEG_REQUIRE_GPU();
  for (const ParityCase& c : resize_cases()) expect_parity(c);
}

std::vector<ParityCase> image_grad_cases() {
  auto grad = [](V x) { return ops::image_grad(x[0]); };
  auto div = [](V x) { return ops::image_div(x[0]); };
  return {
      map_case({"image_grad", {randn_input({16, 1, 33, 31})}, grad}),
      map_case({"image_grad 1x1", {randn_input({2, 1, 1, 1})}, grad}),
      map_case({"image_grad one row", {randn_input({1, 1, 1, 13})}, grad}),
      map_case({"image_div", {randn_input({16, 2, 33, 31})}, div}),
      map_case({"image_div 1x1", {randn_input({2, 2, 1, 1})}, div}),
      map_case({"image_div one column", {randn_input({1, 2, 17, 1})}, div}),
      f64_case({"image_grad float64", {randn_input({2, 1, 17, 13}, F64)}, grad}),
      f64_case({"image_div float64", {randn_input({2, 2, 17, 13}, F64)}, div}),
      f64_case({"image_div of image_grad float64", {randn_input({1, 1, 17, 13}, F64)},
                [](V x) { return ops::image_div(ops::image_grad(x[0])); }}),
  };
}

TEST(GpuParity, ImageGradDiv) {
  TDSEG_REQUIRE_GPU();
  for (const ParityCase& c : image_grad_cases()) expect_parity(c);
}

std::vector<ParityCase> flip_cases() {
  auto flip = [](V x) { return ops::flip_width(x[0]); };
  return {
      map_case({"flip_width", {randn_input({16, 21, 33, 31})}, flip}),
      map_case({"flip_width W = 1", {randn_input({2, 3, 5, 1})}, flip}),
      map_case({"flip_width rank 1", {randn_input({7})}, flip}),
      f64_case({"flip_width float64", {randn_input({2, 3, 17, 13}, F64)}, flip}),
  };
}

TEST(GpuParity, FlipWidth) {
  TDSEG_REQUIRE_GPU();
  for (const ParityCase& c : flip_cases()) expect_parity(c);
}

// gaussian_kernel computes on the host whatever sigma's device: the results match to the
// last bit, the GPU's only copied there and back.
std::vector<ParityCase> gaussian_cases() {
  auto kernel = [](int64_t K) { return [K](V x) { return ops::gaussian_kernel(x[0], K); }; };
  return {
      with_tolerance({"gaussian K=5", {uniform_input({21}, 0.5, 3.0)}, kernel(5)}, 0, 0),
      with_tolerance({"gaussian K=1", {uniform_input({1}, 0.5, 3.0)}, kernel(1)}, 0, 0),
      with_tolerance(
          {"gaussian K=9 float64", {uniform_input({256}, 0.5, 3.0, F64)}, kernel(9)}, 0, 0),
  };
}

TEST(GpuParity, GaussianKernel) {
  TDSEG_REQUIRE_GPU();
  for (const ParityCase& c : gaussian_cases()) expect_parity(c);
}

}  // namespace
}  // namespace tdseg::testing
