// One checked-call macro per library. Each evaluates the call once and throws
// tdseg::CudaError naming the call, file:line and the library's own error string.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "core/error.h"

#define TDSEG_CUDA_CHECK(call)                                                          \
  do {                                                                                  \
    cudaError_t tdseg_err_ = (call);                                                    \
    if (tdseg_err_ != cudaSuccess)                                                      \
      throw ::tdseg::CudaError(::tdseg::cat(#call, " failed at ", __FILE__, ":",        \
                                            __LINE__, ": ", cudaGetErrorString(tdseg_err_))); \
  } while (0)

#define TDSEG_CUDNN_CHECK(call)                                                         \
  do {                                                                                  \
    cudnnStatus_t tdseg_err_ = (call);                                                  \
    if (tdseg_err_ != CUDNN_STATUS_SUCCESS)                                             \
      throw ::tdseg::CudaError(::tdseg::cat(#call, " failed at ", __FILE__, ":",        \
                                            __LINE__, ": ", cudnnGetErrorString(tdseg_err_))); \
  } while (0)

#define TDSEG_CUBLAS_CHECK(call)                                                        \
  do {                                                                                  \
    cublasStatus_t tdseg_err_ = (call);                                                 \
    if (tdseg_err_ != CUBLAS_STATUS_SUCCESS)                                            \
      throw ::tdseg::CudaError(::tdseg::cat(#call, " failed at ", __FILE__, ":",        \
                                            __LINE__, ": ", cublasGetStatusString(tdseg_err_))); \
  } while (0)
