// The CPU kernels of the fused STD op (std_fused.cpp): the problem one call fixes, and
// the per-iteration pieces the forward and backward share. Arrays are contiguous
// [N, C, L] (L = H*W) in the input's dtype T; reductions accumulate in double. Loops run
// over planes (n, c) shared among threads, the inner loop along a plane's pixels.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/parallel.h"
#include "core/tensor.h"
#include "layers/std/gaussian_blur.h"
#include "layers/std/std_config.h"

namespace tdseg::fused {

template <typename T>
struct Problem {
  int64_t N, C, H, W, L, iters;
  StdPrior prior;
  T lambda, eps, tau;
  bool tau_follows_eps;
  bool need_eps, need_sigma;  // skip the work of gradients nobody asked for
  GaussianTaps taps;
  Tensor o_tensor;            // the logits (shared with the graph's input, not copied)
  const T* o = nullptr;       // o_tensor's data
  std::vector<T> edge;        // [N, L], empty without the edge weight
  std::vector<T> s;           // SS: star field [N, 2, L]
  std::vector<T> log_v;       // VP: log max(V, floor) [N, C]
  T floor;                    // VP: 1e-6 * H * W
  int64_t star;
  int64_t size() const { return N * C * L; }
  int64_t planes() const { return N * C; }
  int64_t dual_size() const { return prior == StdPrior::VP ? N * C : N * L; }
  const T* edge_of_plane(int64_t plane) const { return edge.data() + plane / C * L; }
};

// bfloat16 storage of the iterates (StdMemory::bf16_iterates): the top 16 bits of a
// float32, rounded to nearest even (NaN stays a quiet NaN); widening puts them back on
// top of 16 zero bits, exactly. The CUDA twin (std_fused_cuda.cu) does the same bits.
inline uint16_t to_bf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);
  bits += 0x7fffu + ((bits >> 16) & 1u);  // carries into the exponent as rounding should
  return static_cast<uint16_t>(bits >> 16);
}

inline float from_bf16(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float x;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}

// f(k, i) for every element i = plane * L + k of [N, C, L], planes in parallel.
template <typename T, typename F>
void for_each(const Problem<T>& pb, F&& f) {
  parallel_for(pb.planes(), pb.L, [&](int64_t plane) {
    for (int64_t k = 0, i = plane * pb.L; k < pb.L; ++k, ++i) f(plane, k, i);
  });
}

template <typename T>
double dot(int64_t n, const T* a, const T* b) {
  double s = 0;
#pragma omp parallel for reduction(+ : s) if (n >= kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

// P = K(u): k*(1 - 2u), or (k*(1 - u)) e - k*(e u) with the edge weight.   (eq. 7)
template <typename T>
void kernel_term(const Problem<T>& pb, const T* u, T* P, T* t1, T* t2) {
  if (pb.edge.empty()) {
    for_each(pb, [&](int64_t, int64_t, int64_t i) { t1[i] = 1 - 2 * u[i]; });
    gaussian_blur(pb.taps, pb.N, pb.H, pb.W, t1, P);
    return;
  }
  for_each(pb, [&](int64_t plane, int64_t k, int64_t i) {
    t1[i] = 1 - u[i];
    t2[i] = pb.edge_of_plane(plane)[k] * u[i];
  });
  gaussian_blur(pb.taps, pb.N, pb.H, pb.W, t1, P);
  gaussian_blur(pb.taps, pb.N, pb.H, pb.W, t2, t1);
  for_each(pb, [&](int64_t plane, int64_t k, int64_t i) { P[i] = P[i] * pb.edge_of_plane(plane)[k] - t1[i]; });
}

// gu += (dK/du)^T gP; K is affine in u: -2 k*gP, or -k*(e gP) - e k*gP.
template <typename T>
void kernel_term_adjoint(const Problem<T>& pb, const T* gP, T* gu, T* t1, T* t2) {
  gaussian_blur(pb.taps, pb.N, pb.H, pb.W, gP, t1);
  if (pb.edge.empty()) {
    for_each(pb, [&](int64_t, int64_t, int64_t i) { gu[i] -= 2 * t1[i]; });
    return;
  }
  for_each(pb, [&](int64_t plane, int64_t k, int64_t i) {
    const T e = pb.edge_of_plane(plane)[k];
    gu[i] -= e * t1[i];
    t2[i] = e * gP[i];
  });
  gaussian_blur(pb.taps, pb.N, pb.H, pb.W, t2, t1);
  for_each(pb, [&](int64_t, int64_t, int64_t i) { gu[i] -= t1[i]; });
}

// gsigma[c] += <gP_c, dK_c/dsigma_c>, the kernel term built on dk/dsigma.
template <typename T>
void kernel_term_dsigma(const Problem<T>& pb, const T* u, const T* gP, double* gsigma, T* t1,
                        T* t2, T* d) {
  const bool edge = !pb.edge.empty();
  for_each(pb, [&](int64_t, int64_t, int64_t i) { t1[i] = edge ? 1 - u[i] : 1 - 2 * u[i]; });
  gaussian_blur(pb.taps, pb.N, pb.H, pb.W, t1, d, true);
  if (edge) {
    for_each(pb, [&](int64_t plane, int64_t k, int64_t i) { t1[i] = pb.edge_of_plane(plane)[k] * u[i]; });
    gaussian_blur(pb.taps, pb.N, pb.H, pb.W, t1, t2, true);
    for_each(pb, [&](int64_t plane, int64_t k, int64_t i) { d[i] = d[i] * pb.edge_of_plane(plane)[k] - t2[i]; });
  }
  for (int64_t plane = 0; plane < pb.planes(); ++plane)
    gsigma[plane % pb.C] += dot(pb.L, gP + plane * pb.L, d + plane * pb.L);
}

// out[n] = s[n] . grad(a[n, i]) for a of [N, C, L]: grad is the forward difference, 0 on
// the last column (x part) and the last row (y part).
template <typename T>
void s_dot_grad(const Problem<T>& pb, const T* a, int64_t i, T* out) {
  const int64_t H = pb.H, W = pb.W, L = pb.L;
  parallel_for(pb.N, L, [&](int64_t n) {
    const T *p = a + (n * pb.C + i) * L, *sx = pb.s.data() + n * 2 * L, *sy = sx + L;
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x) {
        const int64_t k = y * W + x;
        const T gx = x + 1 < W ? p[k + 1] - p[k] : 0, gy = y + 1 < H ? p[k + W] - p[k] : 0;
        out[n * L + k] = sx[k] * gx + sy[k] * gy;
      }
  });
}

// out[n] = div(q[n] s[n]) for q of [N, L], div = -grad^T:
//   div(w)[y][x] = (x < W-1 ? wx[y][x] : 0) - (x > 0 ? wx[y][x-1] : 0) + (same along y)
template <typename T>
void div_q_s(const Problem<T>& pb, const T* q, T* out) {
  const int64_t H = pb.H, W = pb.W, L = pb.L;
  parallel_for(pb.N, L, [&](int64_t n) {
    const T *qn = q + n * L, *sx = pb.s.data() + n * 2 * L, *sy = sx + L;
    auto wx = [&](int64_t k) { return qn[k] * sx[k]; };
    auto wy = [&](int64_t k) { return qn[k] * sy[k]; };
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x) {
        const int64_t k = y * W + x;
        out[n * L + k] = (x + 1 < W ? wx(k) : 0) - (x > 0 ? wx(k - 1) : 0) +
                         (y + 1 < H ? wy(k) : 0) - (y > 0 ? wy(k - W) : 0);
      }
  });
}

}  // namespace tdseg::fused
