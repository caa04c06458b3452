// Row-major matrix product C[M,N] = alpha * op(A) * op(B) + beta * C, with op(X) = X or
// X^T. Goes to the CPU BLAS (OpenBLAS) when the build found one; otherwise to a blocked
// loop that is correct but several times slower (the GPU machine has no OpenBLAS).
#pragma once
#include <cstdint>

namespace tdseg {

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

// "OpenBLAS 0.3.21" or "built-in blocked GEMM (no BLAS found)".
const char* blas_name();

}  // namespace tdseg
