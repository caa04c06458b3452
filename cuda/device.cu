// The CUDA build of cuda/device.h. cudaGetDeviceCount is the first runtime call: on a
// machine without a GPU or driver it returns an error, which becomes the reason.
#include "cuda/check.h"
#include "cuda/device.h"

namespace tdseg::cuda {

bool built_with_cuda() { return true; }

Availability query_devices() {
  Availability a;
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later calls start clean
    a.reason = cat("no CUDA device (", cudaGetErrorString(err), ")");
    return a;
  }
  if (count == 0) a.reason = "no CUDA device (the runtime sees none)";
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp p{};
    TDSEG_CUDA_CHECK(cudaGetDeviceProperties(&p, i));
    a.devices.push_back({i, p.name, static_cast<uint64_t>(p.totalGlobalMem), p.major, p.minor});
  }
  return a;
}

std::string library_versions() {
  int runtime = 0;
  TDSEG_CUDA_CHECK(cudaRuntimeGetVersion(&runtime));
  const size_t dnn = cudnnGetVersion();
  int blas[3] = {0, 0, 0};
  const libraryPropertyType parts[3] = {MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL};
  for (int i = 0; i < 3; ++i) TDSEG_CUBLAS_CHECK(cublasGetProperty(parts[i], &blas[i]));
  return cat("CUDA runtime ", runtime / 1000, ".", (runtime % 1000) / 10, ", cuDNN ",
             dnn / 10000, ".", (dnn % 10000) / 100, ".", dnn % 100, ", cuBLAS ", blas[0], ".",
             blas[1], ".", blas[2]);
}

}  // namespace tdseg::cuda
