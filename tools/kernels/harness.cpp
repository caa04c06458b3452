// The kernel harnesses' shared pieces (see harness.h).
#include "tools/kernels/harness.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/device.h"
#include "layers/std/gaussian_blur.h"

namespace tdseg::harness {

int parse(const char* name, int argc, char** argv, Setup& s) {
  if (argc != 1 && argc != 5 && argc != 6) {
    std::fprintf(stderr, "%s: expected N C H W [repeat], got %d arguments\n", name, argc - 1);
    return 2;
  }
  int* fields[] = {&s.N, &s.C, &s.H, &s.W, &s.repeat};
  for (int k = 1; k < argc; ++k) {
    char* end = nullptr;
    const long v = std::strtol(argv[k], &end, 10);
    if (*end != '\0' || v < 1 || v > 100000) {
      std::fprintf(stderr, "%s: argument %d must be an integer in [1, 100000], got '%s'\n", name, k,
                   argv[k]);
      return 2;
    }
    *fields[k - 1] = static_cast<int>(v);
  }
  const cuda::Availability a = cuda::query_devices();
  if (a.devices.empty()) {
    std::printf("%s: skipped, no GPU (%s)\n", name, a.reason.c_str());
    return 77;
  }
  s.device = a.devices[0].name;
  return 0;
}

Tensor gaussian_taps(int C, int K, double sigma) {
  const GaussianTaps taps(std::vector<double>(C, sigma), K);
  return Tensor::from_vector<double>({C, K}, taps.g).to(DType::Float32).to(Device::cuda());
}

double copy_gbps(const Tensor& like, int repeat) {
  const Tensor to = Tensor::empty(like.shape(), like.dtype(), like.device());
  const size_t bytes = like.numel() * dtype_size(like.dtype());
  const cudaStream_t s = cuda::stream(like);
  const double ms = median_ms(repeat, s, [&] {
    TDSEG_CUDA_CHECK(cudaMemcpyAsync(to.data_ptr(), like.data_ptr(), bytes, cudaMemcpyDeviceToDevice, s));
  });
  return 2.0 * bytes / (ms * 1e6);
}

double relative_difference(const Tensor& a, const Tensor& b) {
  const Tensor ha = host_copy(a), hb = host_copy(b);
  double diff = 0, scale = 0;
  for (int64_t k = 0; k < hb.numel(); ++k) {
    diff = std::max(diff, std::abs(double(ha.data<float>()[k]) - hb.data<float>()[k]));
    scale = std::max(scale, std::abs(double(hb.data<float>()[k])));
  }
  return diff / scale;
}

void print_header(const char* kernel, const Setup& s, double copy) {
  std::printf("%s versions on %s, [%d, %d, %d, %d] float32, K = %d, median of %d; copy %.1f GB/s\n",
              kernel, s.device.c_str(), s.N, s.C, s.H, s.W, s.K, s.repeat, copy);
  std::printf("%-8s %9s %9s %6s %12s\n", "version", "ms", "GB/s", "/copy", "diff from 1");
}

void print_row(int version, double ms, double bytes, double copy, double diff) {
  const double gbps = bytes / (ms * 1e6);
  std::printf("%-8d %9.3f %9.0f %6.2f %12.2e\n", version, ms, gbps, gbps / copy, diff);
}

int main(const char* name, int argc, char** argv, int (*body)(int, char**)) {
  try {
    return body(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", name, e.what());
    return 2;
  }
}

}  // namespace tdseg::harness
