// cuda/blas.h: the row-major product as one column-major cuBLAS call (see the header).
#include "cuda/blas.h"

#include <climits>
#include <type_traits>

#include "cuda/context.h"

namespace tdseg::cuda {

namespace {

int to_int(int64_t v, const char* what) {
  check<ValueError>(v >= 0 && v <= INT_MAX, "cuda gemm: ", what, " = ", v,
                    " is outside cuBLAS's 32-bit range");
  return static_cast<int>(v);
}

cublasOperation_t op(bool transposed) { return transposed ? CUBLAS_OP_T : CUBLAS_OP_N; }

// The handle of `device`, its math mode set for T (TF32 only for float32 and only when
// allowed) and alpha, beta read from host memory. Both are handle state, set on every call.
template <typename T>
cublasHandle_t handle_for(int device) {
  cublasHandle_t h = context(device).blas.get();
  const bool tf32 = std::is_same_v<T, float> && allow_tf32();
  TDSEG_CUBLAS_CHECK(cublasSetMathMode(h, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  TDSEG_CUBLAS_CHECK(cublasSetPointerMode(h, CUBLAS_POINTER_MODE_HOST));
  return h;
}

}  // namespace

template <>
void gemm<float>(int device, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                 const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                 int64_t ldc) {
  if (M == 0 || N == 0) return;
  TDSEG_CUBLAS_CHECK(cublasSgemm(handle_for<float>(device), op(tb), op(ta), to_int(N, "N"),
                                 to_int(M, "M"), to_int(K, "K"), &alpha, B, to_int(ldb, "ldb"),
                                 A, to_int(lda, "lda"), &beta, C, to_int(ldc, "ldc")));
}

template <>
void gemm<double>(int device, bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha,
                  const double* A, int64_t lda, const double* B, int64_t ldb, double beta,
                  double* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  TDSEG_CUBLAS_CHECK(cublasDgemm(handle_for<double>(device), op(tb), op(ta), to_int(N, "N"),
                                 to_int(M, "M"), to_int(K, "K"), &alpha, B, to_int(ldb, "ldb"),
                                 A, to_int(lda, "lda"), &beta, C, to_int(ldc, "ldc")));
}

}  // namespace tdseg::cuda
