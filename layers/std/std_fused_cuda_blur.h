// The kernel term of the fused STD op on CUDA, the twin of gaussian_blur.cpp and of the
// kernel_term* helpers of std_fused_kernels.h: the separable Gaussian as a row pass and a
// column pass over shared-memory tiles with a halo of r = (K - 1) / 2, zero padding
// ("same" size), every class plane with its own taps. The row pass keeps its result in
// "rows" buffers; the column passes combine them into the kernel term, its adjoint or its
// sigma derivative. Internal to std_fused_cuda.cu.
//
// Arrays are [N, C, H, W] = [planes, L] (plane = n * C + c, L = H * W) in T; e is
// [N, L]; taps are [2, C, K], g_c then dg_c (gaussian_blur.h). The blur is exactly the
// CPU's: rows with g (K taps, T products summed in tap order from 0), then columns.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace tdseg::cuda::std_blur {

constexpr int64_t kMaxRadius = 64;  // K <= 129: the halo a tile's shared memory holds

template <typename T>
struct Planes {
  int64_t N, C, H, W, K;
  const T* taps;  // [2, C, K]
  const T* edge;  // [N, L], or nullptr without the edge weight
  cudaStream_t stream;
};

// What the row pass blurs: f(v) of the input v (e the edge weight at that pixel).
enum class Source {
  OneMinusTwoU,  // 1 - 2u      (eq. 7, e = 1)
  OneMinusU,     // 1 - u       (eq. 7 with e)
  EdgeTimes,     // e v         (eq. 7 with e; its adjoint)
  Identity,      // v           (the adjoint)
};

// The row buffers of one kernel term: g along rows of f_A (and of f_B with the edge
// weight), and dg along rows when the sigma derivative is wanted; nullptr when unused.
template <typename T>
struct Rows {
  T *a_g = nullptr, *a_dg = nullptr, *b_g = nullptr, *b_dg = nullptr;
};

// out_g = g_c (x) f(in) along rows; also out_dg = dg_c (x) f(in) when out_dg is not null.
template <typename T>
void blur_rows(const Planes<T>& pl, Source source, const T* in, T* out_g, T* out_dg);

// P = K(u) from rows a_g [, b_g]: k*(1 - 2u), or (k*(1 - u)) e - k*(e u).   (eq. 7)
template <typename T>
void kernel_term_cols(const Planes<T>& pl, const Rows<T>& rows, T* P);

// gu = -star_div - 2 k*gP, or (-star_div - e k*gP) - k*(e gP), from rows a_g = rows of
// gP [, b_g = rows of e gP]: (dK/du)^T gP, K being affine in u and k symmetric. star_div
// [N, L] (SS: div(gG s)) enters class `star` only; nullptr for none.
template <typename T>
void kernel_term_adjoint_cols(const Planes<T>& pl, const Rows<T>& rows, const T* star_div,
                              int64_t star, T* gu);

// partial[plane * tiles + tile] = sum over the tile of gP * dK_c/dsigma_c (u), from the
// rows of kernel_term (a_g, a_dg [, b_g, b_dg]), tiles = column_tiles(pl).
template <typename T>
void kernel_term_dsigma_cols(const Planes<T>& pl, const Rows<T>& rows, const T* gP,
                             double* partial);
template <typename T>
int64_t column_tiles(const Planes<T>& pl);

}  // namespace tdseg::cuda::std_blur
