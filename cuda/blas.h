// Row-major matrix products on a GPU through cuBLAS: the device twin of core/gemm.h, with
// the same arguments and meaning,
//   C[M, N] = alpha * op(A) * op(B) + beta * C,   op(X) = X or X^T,
// where A, B and C are device pointers to row-major matrices with leading dimensions
// lda, ldb, ldc in elements (the stored row length). Queued on the device's stream.
//
// cuBLAS is column-major. A row-major matrix read as column-major is its transpose, so the
// product is computed as C^T = op(B)^T op(A)^T: cublas<t>gemm(op_b, op_a, N, M, K, B, ldb,
// A, lda, C, ldc), with no copy or transposition of any operand.
//
// float32 uses TF32 tensor cores when cuda::allow_tf32() (CUBLAS_TF32_TENSOR_OP_MATH:
// inputs rounded to a 10-bit mantissa, float32 accumulation), else CUBLAS_DEFAULT_MATH,
// which never lowers the precision of the inputs. (CUBLAS_PEDANTIC_MATH, which also bans
// split-K and other reorderings, is a debugging mode and not used.) float64 is unaffected.
#pragma once
#include <cstdint>

namespace tdseg::cuda {

template <typename T>
void gemm(int device, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha,
          const T* A, int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

}  // namespace tdseg::cuda
