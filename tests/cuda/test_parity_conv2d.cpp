// CPU/GPU parity of conv2d (the output and the gradients of input, weight and bias), for
// cuDNN and for the handwritten depthwise kernels; the cuBLAS GEMM against core/gemm.h;
// and the convolution algorithm cache.
//
// Tolerances are relative to the scale of each result, max |gpu - cpu| <= tol * max |cpu|:
// every entry is a sum of tens to tens of thousands of products that may cancel to near
// zero, where an elementwise relative test would measure nothing but that cancellation.
//   strict float32 (TF32 off: CUDNN_FMA_MATH, CUBLAS_DEFAULT_MATH)  1e-4  (float32 rounding
//                                                    in a different summation order)
//   TF32 (the default)  5e-3: inputs rounded to a 10-bit mantissa (relative error 2^-11
//                       each, so about 1e-3 per product), float32 accumulation
//   float64             1e-10
#include <gtest/gtest.h>

#if defined(TDSEG_WITH_CUDA)

#include <array>
#include <cmath>
#include <limits>

#include "core/gemm.h"
#include "core/ops.h"
#include "cuda/blas.h"
#include "cuda/context.h"
#include "cuda/cudnn_conv.h"
#include "cuda/ops/conv2d.h"
#include "tests/cuda/gpu.h"

namespace tdseg::testing {
namespace {

constexpr double kStrictTol = 1e-4, kTf32Tol = 5e-3, kFloat64Tol = 1e-10;

::testing::AssertionResult close_to_scale(const Tensor& actual, const Tensor& expected,
                                          double tol) {
  if (actual.shape() != expected.shape())
    return ::testing::AssertionFailure() << "shape " << shape_str(actual.shape()) << " vs "
                                         << shape_str(expected.shape());
  const Tensor a = actual.to(Device::cpu()).to(DType::Float64), e = expected.to(DType::Float64);
  const double *pa = a.data<double>(), *pe = e.data<double>();
  double scale = 0, worst = 0;
  int64_t at = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    scale = std::max(scale, std::abs(pe[i]));
    const double err = std::abs(pa[i] - pe[i]);
    if (std::isnan(err) || err > worst) {
      worst = std::isnan(err) ? std::numeric_limits<double>::infinity() : err;
      at = i;
    }
  }
  if (worst <= tol * scale) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "max error " << worst << " at [" << at << "] ("
                                       << pa[at] << " vs " << pe[at] << ") exceeds " << tol
                                       << " x scale " << scale;
}

// The math and algorithm switches of one test, put back when it ends.
class KeepSwitches {
 public:
  KeepSwitches()
      : tf32_(cuda::allow_tf32()), depthwise_(cuda::depthwise_kernel()),
        search_(cuda::conv_algo_search()) {}
  ~KeepSwitches() {
    cuda::set_allow_tf32(tf32_);
    cuda::set_depthwise_kernel(depthwise_);
    cuda::set_conv_algo_search(search_);
  }

 private:
  bool tf32_;
  cuda::DepthwiseKernel depthwise_;
  cuda::ConvAlgoSearch search_;
};

struct ConvCase {
  std::string name;
  Shape x, w;
  ops::Conv2dOptions o;
  bool bias;
  bool depthwise() const { return o.groups == x[1] && o.groups > 1; }
};

// Different (h, w) strides, paddings and dilations.
ops::Conv2dOptions asymmetric(std::array<int64_t, 2> stride, std::array<int64_t, 2> padding,
                              std::array<int64_t, 2> dilation, int64_t groups) {
  ops::Conv2dOptions o;
  o.stride = stride;
  o.padding = padding;
  o.dilation = dilation;
  o.groups = groups;
  return o;
}

std::vector<ConvCase> cases() {
  using O = ops::Conv2dOptions;  // (stride, padding, dilation, groups)
  return {
      {"plain 3x3", {2, 21, 17, 13}, {32, 21, 3, 3}, O(1, 1), true},
      {"C=1 unpadded, batch 16", {16, 1, 33, 33}, {8, 1, 3, 3}, O(1, 0), true},
      {"strided 3x3/2", {2, 21, 33, 33}, {16, 21, 3, 3}, O(2, 1), false},
      {"padded 5x5", {1, 3, 17, 13}, {8, 3, 5, 5}, O(1, 2), true},
      {"asymmetric 3x1", {2, 5, 17, 13}, {6, 5, 3, 1}, asymmetric({2, 1}, {1, 0}, {2, 1}, 1), true},
      {"dilated 3x3 r2", {2, 16, 33, 33}, {16, 16, 3, 3}, O(1, 2, 2), false},
      {"grouped 4", {2, 32, 17, 13}, {48, 8, 3, 3}, O(1, 1, 1, 4), true},
      {"1x1 256->48, batch 16", {16, 256, 17, 13}, {48, 256, 1, 1}, O(1, 0), true},
      {"1x1/2", {2, 64, 33, 33}, {32, 64, 1, 1}, O(2, 0), false},
      {"3x3 256->256, batch 1", {1, 256, 17, 13}, {256, 256, 3, 3}, O(1, 1), true},
      {"depthwise 3x3, batch 16", {16, 21, 33, 33}, {21, 1, 3, 3}, O(1, 1, 1, 21), true},
      {"depthwise x2 3x3", {2, 21, 17, 13}, {42, 1, 3, 3}, O(1, 1, 1, 21), true},
      {"depthwise x2 r2", {2, 21, 17, 13}, {42, 1, 3, 3}, O(1, 2, 2, 21), false},
      {"depthwise r6, C=256", {2, 256, 33, 33}, {256, 1, 3, 3}, O(1, 6, 6, 256), false},
      {"depthwise x2 r6 unpadded", {1, 21, 17, 13}, {42, 1, 3, 3}, O(1, 0, 6, 21), true},
      {"depthwise 3x3/2", {2, 21, 33, 33}, {21, 1, 3, 3}, O(2, 1, 1, 21), true},
      {"depthwise x2 asymmetric", {2, 21, 17, 13}, {42, 1, 3, 3},
       asymmetric({2, 1}, {1, 2}, {1, 2}, 21), true},
      {"depthwise 5x5 (past the handwritten kernels' 9 taps)", {2, 21, 17, 13}, {21, 1, 5, 5},
       O(1, 2, 1, 21), false},
  };
}

// Forward on both devices, then backward of the same random weighting sum(y * R); the
// output and every gradient compared at `tol` of their scale.
void expect_conv_parity(const ConvCase& c, DType dtype, double tol) {
  Generator gen(3);
  const double w_std = 1.0 / std::sqrt(double(c.w[1] * c.w[2] * c.w[3]));  // y of order 1
  const Tensor inputs[3] = {
      Tensor::randn(c.x, gen, dtype), Tensor::randn(c.w, gen, dtype, 0, w_std),
      c.bias ? Tensor::randn({c.w[0]}, gen, dtype) : Tensor()};
  std::vector<Tensor> cpu, gpu;
  for (const Tensor& t : inputs) {
    Tensor h = t, d = t.defined() ? t.to(Device::cuda()) : Tensor();
    if (t.defined()) {
      h.set_requires_grad(true);
      d.set_requires_grad(true);
    }
    cpu.push_back(h);
    gpu.push_back(d);
  }
  const Tensor y_cpu = ops::conv2d(cpu[0], cpu[1], cpu[2], c.o);
  const Tensor y_gpu = ops::conv2d(gpu[0], gpu[1], gpu[2], c.o);
  ASSERT_EQ(y_gpu.device(), Device::cuda());
  EXPECT_TRUE(close_to_scale(y_gpu, y_cpu, tol)) << "forward";

  const Tensor R = Tensor::randn(y_cpu.shape(), gen, dtype);
  ops::sum(ops::mul(y_cpu, R)).backward();
  ops::sum(ops::mul(y_gpu, R.to(Device::cuda()))).backward();
  const char* names[3] = {"input", "weight", "bias"};
  for (int i = 0; i < 3; ++i) {
    if (!cpu[i].defined()) continue;
    ASSERT_TRUE(gpu[i].grad().defined()) << names[i];
    EXPECT_EQ(gpu[i].grad().device(), Device::cuda()) << names[i];
    EXPECT_TRUE(close_to_scale(gpu[i].grad(), cpu[i].grad(), tol)) << "gradient of " << names[i];
  }
}

// Every case at one dtype and tolerance; depthwise cases through both implementations.
void expect_all_cases(DType dtype, double tol) {
  for (const ConvCase& c : cases()) {
    for (cuda::DepthwiseKernel k : {cuda::DepthwiseKernel::Cudnn, cuda::DepthwiseKernel::Handwritten}) {
      if (k == cuda::DepthwiseKernel::Handwritten && !c.depthwise()) continue;
      SCOPED_TRACE(cat(c.name, ", ", dtype_name(dtype),
                       k == cuda::DepthwiseKernel::Cudnn ? ", cuDNN" : ", handwritten"));
      cuda::set_depthwise_kernel(k);
      expect_conv_parity(c, dtype, tol);
    }
  }
}

TEST(GpuConv2d, StrictFloat32Parity) {
  TDSEG_REQUIRE_GPU();
  KeepSwitches keep;
  cuda::set_allow_tf32(false);
  expect_all_cases(DType::Float32, kStrictTol);
}

TEST(GpuConv2d, Tf32Parity) {
  TDSEG_REQUIRE_GPU();
  KeepSwitches keep;
  cuda::set_allow_tf32(true);
  expect_all_cases(DType::Float32, kTf32Tol);
}

TEST(GpuConv2d, Float64Parity) {
  TDSEG_REQUIRE_GPU();
  KeepSwitches keep;
  expect_all_cases(DType::Float64, kFloat64Tol);
}

TEST(GpuConv2d, TimedAlgorithmSearchParity) {
  TDSEG_REQUIRE_GPU();
  KeepSwitches keep;
  cuda::set_allow_tf32(false);
  cuda::set_conv_algo_search(cuda::ConvAlgoSearch::Timed);
  cuda::set_depthwise_kernel(cuda::DepthwiseKernel::Cudnn);
  for (const ConvCase& c : cases()) {
    SCOPED_TRACE(c.name + ", timed search");
    expect_conv_parity(c, DType::Float32, kStrictTol);
  }
}

TEST(GpuConv2d, AlgorithmCacheSearchesEachKeyOnce) {
  TDSEG_REQUIRE_GPU();
  KeepSwitches keep;
  cuda::set_conv_algo_search(cuda::ConvAlgoSearch::Heuristic);
  Generator gen(5);
  // A shape no other test uses, so its first call is a miss.
  Tensor x = Tensor::randn({3, 7, 19, 23}, gen).to(Device::cuda());
  Tensor w = Tensor::randn({5, 7, 3, 3}, gen).to(Device::cuda());
  x.set_requires_grad(true);
  w.set_requires_grad(true);
  const ops::Conv2dOptions o(2, 1);

  const int64_t start = cuda::conv_algo_searches();
  Tensor y = ops::conv2d(x, w, Tensor(), o);
  EXPECT_EQ(cuda::conv_algo_searches(), start + 1) << "a new shape: one forward search";
  ops::sum(y).backward();
  EXPECT_EQ(cuda::conv_algo_searches(), start + 3) << "its backward: data and filter searches";
  ops::sum(ops::conv2d(x, w, Tensor(), o)).backward();
  EXPECT_EQ(cuda::conv_algo_searches(), start + 3) << "the same shape again: all cached";

  cuda::set_allow_tf32(!cuda::allow_tf32());  // the math mode is part of the key
  ops::conv2d(x, w, Tensor(), o);
  EXPECT_EQ(cuda::conv_algo_searches(), start + 4) << "other math mode: a new search";
}

// cuda::gemm against core/gemm.h for every transposition, float32 (strict and TF32) and
// float64: M x K times K x N with K = 301 (sums of hundreds of products), beta != 0.
template <typename T>
void expect_gemm_parity(bool ta, bool tb, double tol) {
  const int64_t M = 37, N = 29, K = 301;
  Generator gen(11);
  const DType dt = dtype_of<T>();
  const Tensor A = Tensor::randn(ta ? Shape{K, M} : Shape{M, K}, gen, dt);
  const Tensor B = Tensor::randn(tb ? Shape{N, K} : Shape{K, N}, gen, dt);
  const Tensor C = Tensor::randn({M, N}, gen, dt);
  const Tensor a = A.to(Device::cuda()), b = B.to(Device::cuda()), c = C.to(Device::cuda());
  const int64_t lda = ta ? M : K, ldb = tb ? K : N;
  gemm<T>(ta, tb, M, N, K, T(1.5), A.data<T>(), lda, B.data<T>(), ldb, T(0.5), C.data<T>(), N);
  cuda::gemm<T>(0, ta, tb, M, N, K, T(1.5), static_cast<const T*>(a.data_ptr()), lda,
                static_cast<const T*>(b.data_ptr()), ldb, T(0.5), static_cast<T*>(c.data_ptr()),
                N);
  EXPECT_TRUE(close_to_scale(c, C, tol)) << "trans_a " << ta << ", trans_b " << tb;
}

TEST(GpuBlas, GemmMatchesCpuGemm) {
  TDSEG_REQUIRE_GPU();
  KeepSwitches keep;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      cuda::set_allow_tf32(false);
      expect_gemm_parity<float>(ta, tb, kStrictTol);
      expect_gemm_parity<double>(ta, tb, kFloat64Tol);
      cuda::set_allow_tf32(true);
      expect_gemm_parity<float>(ta, tb, kTf32Tol);
    }
}

}  // namespace
}  // namespace tdseg::testing

#endif  // TDSEG_WITH_CUDA
