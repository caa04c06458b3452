// CPU/GPU parity of the STD blocks' data (layers/std/std_extras_cuda.cu against
// std_extras.cpp): the star field, the centroids and the edge weight, in float32 and
// float64, at odd sizes, with a centre on a pixel (s = 0 there), centres outside the
// image, an image whose star class has no mass (the centroid falls back to the centre),
// and one-pixel-wide images (no difference along that axis). None has a gradient: the
// outputs are compared, and they must stay on the GPU.
//
// Tolerances, |gpu - cpu| <= atol + rtol |cpu|: float32 1e-6 (one rounding to float of a
// double result; the CPU's own float arithmetic is repeated), float64 1e-13 (hypot and the
// order of the centroids' double sums).
#include <gtest/gtest.h>

#include "layers/std/std_extras.h"
#include "tests/check_close.h"
#include "tests/cuda/gpu.h"

namespace tdseg::testing {
namespace {

double tolerance(DType t) { return t == DType::Float64 ? 1e-13 : 1e-6; }

void expect_on_gpu_and_close(const Tensor& gpu, const Tensor& cpu, const std::string& what) {
  EXPECT_EQ(gpu.device(), Device::cuda()) << what;
  EXPECT_EQ(gpu.shape(), cpu.shape()) << what;
  const double tol = tolerance(cpu.dtype());
  EXPECT_TRUE(all_close(gpu.to(Device::cpu()), cpu, tol, tol)) << what;
}

TEST(GpuParity, StarField) {
  TDSEG_REQUIRE_GPU();
  for (DType t : {DType::Float32, DType::Float64}) {
    Generator g(21);
    // Image 0's centre lies on the pixel (x 4, y 2); the others anywhere near the image.
    Tensor c = Tensor::uniform({3, 2}, g, -3, 20, DType::Float64);
    c.data<double>()[0] = 4;
    c.data<double>()[1] = 2;
    c = c.to(t);
    for (const auto& [H, W] : {std::pair<int64_t, int64_t>{7, 17}, {1, 9}, {13, 1}}) {
      const std::string what = cat("star_field ", dtype_name(t), " ", H, "x", W);
      expect_on_gpu_and_close(star_field(c.to(Device::cuda()), H, W), star_field(c, H, W), what);
    }
  }
}

TEST(GpuParity, StarCentroids) {
  TDSEG_REQUIRE_GPU();
  for (DType t : {DType::Float32, DType::Float64}) {
    Generator g(22);
    Tensor u = Tensor::uniform({3, 4, 37, 29}, g, 0, 1, DType::Float64);
    double* p = u.data<double>();
    for (int64_t k = 0; k < 37 * 29; ++k) p[(1 * 4 + 2) * 37 * 29 + k] = 0;  // image 1: no mass
    u = u.to(t);
    for (int64_t star : {0, 2, 3}) {
      const std::string what = cat("star_centroids ", dtype_name(t), " star ", star);
      expect_on_gpu_and_close(star_centroids(u.to(Device::cuda()), star), star_centroids(u, star),
                              what);
    }
  }
}

TEST(GpuParity, EdgeWeight) {
  TDSEG_REQUIRE_GPU();
  for (DType t : {DType::Float32, DType::Float64}) {
    Generator g(23);
    for (const Shape& s : {Shape{2, 3, 19, 23}, Shape{1, 1, 1, 9}, Shape{3, 2, 11, 1}}) {
      const Tensor image = Tensor::randn(s, g, t, 0, 2);
      const std::string what = cat("edge_weight ", dtype_name(t), " ", shape_str(s));
      expect_on_gpu_and_close(edge_weight(image.to(Device::cuda())), edge_weight(image), what);
    }
  }
}

}  // namespace
}  // namespace tdseg::testing
