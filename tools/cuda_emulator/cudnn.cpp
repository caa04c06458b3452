// cuDNN convolution on host memory by the naive loops (accumulating in double): the
// descriptors, alpha/beta blending and algorithm queries behave as cuDNN documents them.
// float32 under any math type but CUDNN_FMA_MATH multiplies TF32-rounded inputs (tf32.h):
// cuDNN may use tensor cores there, and the emulation always does, the worst case for a
// test's tolerance.
#include <cudnn.h>

#include <cstring>
#include <vector>

#include "tf32.h"

struct cudnnTensorStruct {
  cudnnDataType_t t;
  int n, c, h, w;
};
struct cudnnFilterStruct {
  cudnnDataType_t t;
  int k, c, h, w;
};
struct cudnnConvolutionStruct {
  int ph, pw, sh, sw, dh, dw, groups = 1;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
};

namespace {
double ld(const void* p, cudnnDataType_t t, size_t i) {
  return t == CUDNN_DATA_DOUBLE ? static_cast<const double*>(p)[i]
                                : static_cast<const float*>(p)[i];
}
void st(void* p, cudnnDataType_t t, size_t i, double v) {
  if (t == CUDNN_DATA_DOUBLE)
    static_cast<double*>(p)[i] = v;
  else
    static_cast<float*>(p)[i] = static_cast<float>(v);
}
double scal(const void* p, cudnnDataType_t t) {
  return t == CUDNN_DATA_DOUBLE ? *static_cast<const double*>(p) : *static_cast<const float*>(p);
}
// Element i of a multiplicand, as the math type reads it.
double ld_input(const void* p, cudnnDataType_t t, size_t i, const cudnnConvolutionStruct* c) {
  const double v = ld(p, t, i);
  return t == CUDNN_DATA_FLOAT && c->math != CUDNN_FMA_MATH ? emulator::tf32(v) : v;
}
size_t idx(int n, int c, int h, int w, int C, int H, int W) {
  return ((size_t(n) * C + c) * H + h) * W + w;
}
bool shapes_ok(const cudnnTensorStruct* x, const cudnnFilterStruct* f,
               const cudnnConvolutionStruct* c, const cudnnTensorStruct* y) {
  const int G = c->groups;
  if (x->c != f->c * G || f->k % G || y->c != f->k || x->n != y->n) return false;
  const int oh = (x->h + 2 * c->ph - c->dh * (f->h - 1) - 1) / c->sh + 1;
  const int ow = (x->w + 2 * c->pw - c->dw * (f->w - 1) - 1) / c->sw + 1;
  return oh == y->h && ow == y->w && x->t == y->t && x->t == f->t;
}
// Visits every (input, filter, output) index triple of the convolution.
template <typename F>
void each_tap(const cudnnTensorStruct* x, const cudnnFilterStruct* f,
              const cudnnConvolutionStruct* c, const cudnnTensorStruct* y, F&& fn) {
  const int G = c->groups, Kg = f->k / G, Cg = f->c;
  for (int n = 0; n < y->n; ++n)
    for (int k = 0; k < f->k; ++k)
      for (int oy = 0; oy < y->h; ++oy)
        for (int ox = 0; ox < y->w; ++ox)
          for (int ci = 0; ci < Cg; ++ci)
            for (int ky = 0; ky < f->h; ++ky)
              for (int kx = 0; kx < f->w; ++kx) {
                const int iy = oy * c->sh - c->ph + ky * c->dh,
                          ix = ox * c->sw - c->pw + kx * c->dw;
                if (iy < 0 || iy >= x->h || ix < 0 || ix >= x->w) continue;
                const int cin = (k / Kg) * Cg + ci;
                fn(idx(n, cin, iy, ix, x->c, x->h, x->w), idx(k, ci, ky, kx, Cg, f->h, f->w),
                   idx(n, k, oy, ox, y->c, y->h, y->w));
              }
}
size_t numel(const cudnnTensorStruct* t) { return size_t(t->n) * t->c * t->h * t->w; }
size_t numel(const cudnnFilterStruct* f) { return size_t(f->k) * f->c * f->h * f->w; }
void blend(void* out, cudnnDataType_t t, const std::vector<double>& acc, double alpha,
           double beta) {
  for (size_t i = 0; i < acc.size(); ++i)
    st(out, t, i, alpha * acc[i] + (beta == 0 ? 0.0 : beta * ld(out, t, i)));
}
void poison(void* p, size_t bytes) { std::memset(p, 0xff, bytes); }
size_t esize(cudnnDataType_t t) { return t == CUDNN_DATA_DOUBLE ? 8 : 4; }
constexpr size_t kWorkspace = 4096;  // a small workspace, so that tdseg's workspace path runs
}  // namespace

extern "C" {
size_t cudnnGetVersion() { return 90000; }
const char* cudnnGetErrorString(cudnnStatus_t s) {
  return s == CUDNN_STATUS_SUCCESS ? "CUDNN_STATUS_SUCCESS" : "CUDNN_STATUS_BAD_PARAM (emulated)";
}
cudnnStatus_t cudnnCreate(cudnnHandle_t* h) {
  *h = reinterpret_cast<cudnnHandle_t>(new char);
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnDestroy(cudnnHandle_t h) {
  delete reinterpret_cast<char*>(h);
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetStream(cudnnHandle_t, cudaStream_t) { return CUDNN_STATUS_SUCCESS; }
cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t* d) {
  *d = new cudnnTensorStruct{};
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t d) {
  delete d;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t* d) {
  *d = new cudnnFilterStruct{};
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t d) {
  delete d;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t* d) {
  *d = new cudnnConvolutionStruct{};
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t d) {
  delete d;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t d, cudnnTensorFormat_t f,
                                         cudnnDataType_t t, int n, int c, int h, int w) {
  if (f != CUDNN_TENSOR_NCHW || n <= 0 || c <= 0 || h <= 0 || w <= 0) return CUDNN_STATUS_BAD_PARAM;
  *d = {t, n, c, h, w};
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t d, cudnnDataType_t t,
                                         cudnnTensorFormat_t f, int k, int c, int h, int w) {
  if (f != CUDNN_TENSOR_NCHW || k <= 0 || c <= 0 || h <= 0 || w <= 0) return CUDNN_STATUS_BAD_PARAM;
  *d = {t, k, c, h, w};
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t d, int ph, int pw,
                                              int sh, int sw, int dh, int dw,
                                              cudnnConvolutionMode_t m, cudnnDataType_t) {
  if (m != CUDNN_CROSS_CORRELATION || ph < 0 || pw < 0 || sh <= 0 || sw <= 0 || dh <= 0 || dw <= 0)
    return CUDNN_STATUS_BAD_PARAM;
  d->ph = ph;
  d->pw = pw;
  d->sh = sh;
  d->sw = sw;
  d->dh = dh;
  d->dw = dw;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetConvolutionGroupCount(cudnnConvolutionDescriptor_t d, int g) {
  if (g <= 0) return CUDNN_STATUS_BAD_PARAM;
  d->groups = g;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t d, cudnnMathType_t m) {
  d->math = m;
  return CUDNN_STATUS_SUCCESS;
}

#define EMU_ALGO_LIST(Perf, algo0)                                              \
  if (requested < 1) return CUDNN_STATUS_BAD_PARAM;                             \
  *returned = 1;                                                                \
  std::memset(perf, 0, sizeof(Perf));                                           \
  perf[0].algo = algo0;                                                         \
  perf[0].status = CUDNN_STATUS_SUCCESS;                                        \
  perf[0].time = 0.01f;                                                         \
  perf[0].memory = kWorkspace;                                                  \
  perf[0].mathType = c->math; /* as cuDNN: FMA_MATH asked, FMA_MATH reported */ \
  return CUDNN_STATUS_SUCCESS;

cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(cudnnHandle_t, const cudnnTensorDescriptor_t x,
                                                     const cudnnFilterDescriptor_t f,
                                                     const cudnnConvolutionDescriptor_t c,
                                                     const cudnnTensorDescriptor_t y,
                                                     const int requested, int* returned,
                                                     cudnnConvolutionFwdAlgoPerf_t* perf) {
  if (!shapes_ok(x, f, c, y)) return CUDNN_STATUS_BAD_PARAM;
  EMU_ALGO_LIST(cudnnConvolutionFwdAlgoPerf_t, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM)
}
cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(
    cudnnHandle_t, const cudnnFilterDescriptor_t f, const cudnnTensorDescriptor_t dy,
    const cudnnConvolutionDescriptor_t c, const cudnnTensorDescriptor_t dx, const int requested,
    int* returned, cudnnConvolutionBwdDataAlgoPerf_t* perf) {
  if (!shapes_ok(dx, f, c, dy)) return CUDNN_STATUS_BAD_PARAM;
  EMU_ALGO_LIST(cudnnConvolutionBwdDataAlgoPerf_t, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1)
}
cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(
    cudnnHandle_t, const cudnnTensorDescriptor_t x, const cudnnTensorDescriptor_t dy,
    const cudnnConvolutionDescriptor_t c, const cudnnFilterDescriptor_t f, const int requested,
    int* returned, cudnnConvolutionBwdFilterAlgoPerf_t* perf) {
  if (!shapes_ok(x, f, c, dy)) return CUDNN_STATUS_BAD_PARAM;
  EMU_ALGO_LIST(cudnnConvolutionBwdFilterAlgoPerf_t, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1)
}
// The Find calls run the algorithms on the given buffers, so they leave the output
// overwritten: poisoned here, as a caller must not rely on it.
cudnnStatus_t cudnnFindConvolutionForwardAlgorithmEx(
    cudnnHandle_t, const cudnnTensorDescriptor_t x, const void*, const cudnnFilterDescriptor_t f,
    const void*, const cudnnConvolutionDescriptor_t c, const cudnnTensorDescriptor_t y, void* yp,
    const int requested, int* returned, cudnnConvolutionFwdAlgoPerf_t* perf, void*, size_t) {
  if (!shapes_ok(x, f, c, y)) return CUDNN_STATUS_BAD_PARAM;
  poison(yp, numel(y) * esize(y->t));
  EMU_ALGO_LIST(cudnnConvolutionFwdAlgoPerf_t, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM)
}
cudnnStatus_t cudnnFindConvolutionBackwardDataAlgorithmEx(
    cudnnHandle_t, const cudnnFilterDescriptor_t f, const void*, const cudnnTensorDescriptor_t dy,
    const void*, const cudnnConvolutionDescriptor_t c, const cudnnTensorDescriptor_t dx, void* dxp,
    const int requested, int* returned, cudnnConvolutionBwdDataAlgoPerf_t* perf, void*, size_t) {
  if (!shapes_ok(dx, f, c, dy)) return CUDNN_STATUS_BAD_PARAM;
  poison(dxp, numel(dx) * esize(dx->t));
  EMU_ALGO_LIST(cudnnConvolutionBwdDataAlgoPerf_t, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1)
}
cudnnStatus_t cudnnFindConvolutionBackwardFilterAlgorithmEx(
    cudnnHandle_t, const cudnnTensorDescriptor_t x, const void*, const cudnnTensorDescriptor_t dy,
    const void*, const cudnnConvolutionDescriptor_t c, const cudnnFilterDescriptor_t f, void* dwp,
    const int requested, int* returned, cudnnConvolutionBwdFilterAlgoPerf_t* perf, void*, size_t) {
  if (!shapes_ok(x, f, c, dy)) return CUDNN_STATUS_BAD_PARAM;
  poison(dwp, numel(f) * esize(f->t));
  EMU_ALGO_LIST(cudnnConvolutionBwdFilterAlgoPerf_t, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1)
}
cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t, const void* alpha,
                                      const cudnnTensorDescriptor_t x, const void* xp,
                                      const cudnnFilterDescriptor_t f, const void* wp,
                                      const cudnnConvolutionDescriptor_t c,
                                      cudnnConvolutionFwdAlgo_t, void* ws, size_t wsb,
                                      const void* beta, const cudnnTensorDescriptor_t y, void* yp) {
  if (!shapes_ok(x, f, c, y) || (wsb < kWorkspace) || (!ws && wsb)) return CUDNN_STATUS_BAD_PARAM;
  std::vector<double> acc(numel(y), 0.0);
  each_tap(x, f, c, y,
           [&](size_t i, size_t k, size_t o) { acc[o] += ld_input(xp, x->t, i, c) * ld_input(wp, f->t, k, c); });
  blend(yp, y->t, acc, scal(alpha, y->t), scal(beta, y->t));
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t, const void* alpha,
                                           const cudnnFilterDescriptor_t f, const void* wp,
                                           const cudnnTensorDescriptor_t dy, const void* dyp,
                                           const cudnnConvolutionDescriptor_t c,
                                           cudnnConvolutionBwdDataAlgo_t, void* ws, size_t wsb,
                                           const void* beta, const cudnnTensorDescriptor_t dx,
                                           void* dxp) {
  if (!shapes_ok(dx, f, c, dy) || (wsb < kWorkspace) || (!ws && wsb)) return CUDNN_STATUS_BAD_PARAM;
  std::vector<double> acc(numel(dx), 0.0);
  each_tap(dx, f, c, dy,
           [&](size_t i, size_t k, size_t o) { acc[i] += ld_input(dyp, dy->t, o, c) * ld_input(wp, f->t, k, c); });
  blend(dxp, dx->t, acc, scal(alpha, dx->t), scal(beta, dx->t));
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t, const void* alpha,
                                             const cudnnTensorDescriptor_t x, const void* xp,
                                             const cudnnTensorDescriptor_t dy, const void* dyp,
                                             const cudnnConvolutionDescriptor_t c,
                                             cudnnConvolutionBwdFilterAlgo_t, void* ws, size_t wsb,
                                             const void* beta, const cudnnFilterDescriptor_t f,
                                             void* dwp) {
  if (!shapes_ok(x, f, c, dy) || (wsb < kWorkspace) || (!ws && wsb)) return CUDNN_STATUS_BAD_PARAM;
  std::vector<double> acc(numel(f), 0.0);
  each_tap(x, f, c, dy,
           [&](size_t i, size_t k, size_t o) { acc[k] += ld_input(dyp, dy->t, o, c) * ld_input(xp, x->t, i, c); });
  blend(dwp, f->t, acc, scal(alpha, f->t), scal(beta, f->t));
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnConvolutionBackwardBias(cudnnHandle_t, const void* alpha,
                                           const cudnnTensorDescriptor_t dy, const void* dyp,
                                           const void* beta, const cudnnTensorDescriptor_t db,
                                           void* dbp) {
  if (db->n != 1 || db->c != dy->c || db->h != 1 || db->w != 1 || db->t != dy->t)
    return CUDNN_STATUS_BAD_PARAM;
  std::vector<double> acc(dy->c, 0.0);
  for (int n = 0; n < dy->n; ++n)
    for (int ch = 0; ch < dy->c; ++ch)
      for (int p = 0; p < dy->h * dy->w; ++p)
        acc[ch] += ld(dyp, dy->t, (size_t(n) * dy->c + ch) * dy->h * dy->w + p);
  blend(dbp, db->t, acc, scal(alpha, db->t), scal(beta, db->t));
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnAddTensor(cudnnHandle_t, const void* alpha, const cudnnTensorDescriptor_t a,
                             const void* ap, const void* beta, const cudnnTensorDescriptor_t c,
                             void* cp) {
  if (a->n != 1 || a->c != c->c || a->h != 1 || a->w != 1 || a->t != c->t)
    return CUDNN_STATUS_BAD_PARAM;
  const double al = scal(alpha, c->t), be = scal(beta, c->t);
  const size_t L = size_t(c->h) * c->w;
  for (size_t i = 0; i < numel(c); ++i)
    st(cp, c->t, i, al * ld(ap, a->t, (i / L) % c->c) + be * ld(cp, c->t, i));
  return CUDNN_STATUS_SUCCESS;
}
}
