// cuBLAS's gemm on host memory, through tdseg's CPU GEMM (row-major): a column-major
// C = op(A) op(B) is the row-major C^T = op(B)^T op(A)^T, the same bytes. Under
// CUBLAS_TF32_TENSOR_OP_MATH, float32 A and B are rounded to TF32 first (tf32.h).
#include <cublas_v2.h>

#include <algorithm>
#include <vector>

#include "core/gemm.h"
#include "tf32.h"

struct cublasContext {
  cublasMath_t math = CUBLAS_DEFAULT_MATH;
};

namespace {

// The `columns` columns of a column-major matrix with leading dimension ld, rounded to TF32.
std::vector<float> tf32_copy(const float* M, int ld, int columns) {
  std::vector<float> out(M, M + size_t(ld) * columns);
  for (float& v : out) v = emulator::tf32(v);
  return out;
}

bool valid(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, int lda, int ldb,
           int ldc) {
  const int a_rows = ta == CUBLAS_OP_N ? m : k, b_rows = tb == CUBLAS_OP_N ? k : n;
  return m >= 0 && n >= 0 && k >= 0 && lda >= std::max(1, a_rows) && ldb >= std::max(1, b_rows) &&
         ldc >= std::max(1, m);
}

template <typename T>
cublasStatus_t gemm(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const T* alpha,
                    const T* A, int lda, const T* B, int ldb, const T* beta, T* C, int ldc) {
  if (!valid(ta, tb, m, n, k, lda, ldb, ldc)) return CUBLAS_STATUS_INVALID_VALUE;
  tdseg::gemm<T>(tb != CUBLAS_OP_N, ta != CUBLAS_OP_N, n, m, k, *alpha, B, ldb, A, lda, *beta, C,
                 ldc);
  return CUBLAS_STATUS_SUCCESS;
}

}  // namespace

extern "C" {
cublasStatus_t cublasCreate_v2(cublasHandle_t* h) {
  *h = new cublasContext;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDestroy_v2(cublasHandle_t h) {
  delete h;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream_v2(cublasHandle_t, cudaStream_t) { return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t mode) {
  h->math = mode;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetPointerMode_v2(cublasHandle_t, cublasPointerMode_t) { return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasGetProperty(libraryPropertyType type, int* value) {
  *value = type == MAJOR_VERSION ? 13 : 0;
  return CUBLAS_STATUS_SUCCESS;
}
const char* cublasGetStatusString(cublasStatus_t s) {
  return s == CUBLAS_STATUS_SUCCESS ? "CUBLAS_STATUS_SUCCESS" : "CUBLAS_STATUS_INVALID_VALUE";
}
cublasStatus_t cublasSgemm_v2(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                              int k, const float* alpha, const float* A, int lda, const float* B,
                              int ldb, const float* beta, float* C, int ldc) {
  if (h->math != CUBLAS_TF32_TENSOR_OP_MATH || !valid(ta, tb, m, n, k, lda, ldb, ldc) ||
      m == 0 || n == 0 || k == 0)
    return gemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
  const std::vector<float> a = tf32_copy(A, lda, ta == CUBLAS_OP_N ? k : m);
  const std::vector<float> b = tf32_copy(B, ldb, tb == CUBLAS_OP_N ? n : k);
  return gemm(ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, C, ldc);
}
cublasStatus_t cublasDgemm_v2(cublasHandle_t, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                              int k, const double* alpha, const double* A, int lda, const double* B,
                              int ldb, const double* beta, double* C, int ldc) {
  return gemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}
}
