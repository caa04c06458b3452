// Move-only owners of the cuBLAS and cuDNN library handles, each bound to a stream.
#pragma once
#include <utility>

#include "cuda/check.h"

namespace tdseg::cuda {

class CublasHandle {
 public:
  explicit CublasHandle(cudaStream_t stream) {
    TDSEG_CUBLAS_CHECK(cublasCreate(&h_));
    TDSEG_CUBLAS_CHECK(cublasSetStream(h_, stream));
  }
  ~CublasHandle() { if (h_) cublasDestroy(h_); }
  CublasHandle(CublasHandle&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;
  cublasHandle_t get() const { return h_; }

 private:
  cublasHandle_t h_ = nullptr;
};

class CudnnHandle {
 public:
  explicit CudnnHandle(cudaStream_t stream) {
    TDSEG_CUDNN_CHECK(cudnnCreate(&h_));
    TDSEG_CUDNN_CHECK(cudnnSetStream(h_, stream));
  }
  ~CudnnHandle() { if (h_) cudnnDestroy(h_); }
  CudnnHandle(CudnnHandle&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  CudnnHandle(const CudnnHandle&) = delete;
  CudnnHandle& operator=(const CudnnHandle&) = delete;
  cudnnHandle_t get() const { return h_; }

 private:
  cudnnHandle_t h_ = nullptr;
};

}  // namespace tdseg::cuda
