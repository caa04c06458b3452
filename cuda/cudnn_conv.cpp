// cuda/cudnn_conv.h: descriptors, the algorithm cache, and the cuDNN calls. Host code.
#include "cuda/cudnn_conv.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <climits>
#include <map>
#include <mutex>
#include <new>
#include <utility>

#include "core/ops/conv2d.h"
#include "cuda/context.h"

namespace tdseg::cuda {

namespace {

// A cuDNN descriptor owned like the handles of cuda/handles.h: created in the
// constructor, destroyed in the destructor, moved but never copied.
template <typename H, cudnnStatus_t (*Create)(H*), cudnnStatus_t (*Destroy)(H)>
class Descriptor {
 public:
  Descriptor() { TDSEG_CUDNN_CHECK(Create(&h_)); }
  ~Descriptor() { if (h_) Destroy(h_); }
  Descriptor(Descriptor&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  Descriptor& operator=(Descriptor&& o) noexcept { std::swap(h_, o.h_); return *this; }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  H get() const { return h_; }

 private:
  H h_ = nullptr;
};

using TensorDescriptor = Descriptor<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor,
                                    cudnnDestroyTensorDescriptor>;
using FilterDescriptor = Descriptor<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor,
                                    cudnnDestroyFilterDescriptor>;
using ConvolutionDescriptor = Descriptor<cudnnConvolutionDescriptor_t,
                                         cudnnCreateConvolutionDescriptor,
                                         cudnnDestroyConvolutionDescriptor>;

int to_int(int64_t v) {
  check<ValueError>(v >= 0 && v <= INT_MAX, "cudnn conv2d: size ", v,
                    " is outside cuDNN's 32-bit range");
  return static_cast<int>(v);
}

cudnnDataType_t data_type(DType t) {
  return t == DType::Float64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
}

cudnnMathType_t requested_math(DType t) {
  return t == DType::Float32 && !allow_tf32() ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH;
}

void set_nchw(const TensorDescriptor& d, const Shape& s, DType t) {
  TDSEG_CUDNN_CHECK(cudnnSetTensor4dDescriptor(d.get(), CUDNN_TENSOR_NCHW, data_type(t),
                                               to_int(s[0]), to_int(s[1]), to_int(s[2]),
                                               to_int(s[3])));
}

// The descriptors of one convolution x [N, C, H, W] * w [M, C/groups, KH, KW] -> y.
struct Problem {
  Shape x_shape, w_shape, y_shape;
  DType dtype;
  cudnnMathType_t math;
  const ops::Conv2dOptions& options;
  TensorDescriptor x, y;
  FilterDescriptor w;
  ConvolutionDescriptor conv;

  Problem(const Shape& xs, const Shape& ws, const Shape& ys, DType t, const ops::Conv2dOptions& o)
      : x_shape(xs), w_shape(ws), y_shape(ys), dtype(t), math(requested_math(t)), options(o) {
    set_nchw(x, xs, t);
    set_nchw(y, ys, t);
    TDSEG_CUDNN_CHECK(cudnnSetFilter4dDescriptor(w.get(), data_type(t), CUDNN_TENSOR_NCHW,
                                                 to_int(ws[0]), to_int(ws[1]), to_int(ws[2]),
                                                 to_int(ws[3])));
    TDSEG_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(
        conv.get(), to_int(o.padding[0]), to_int(o.padding[1]), to_int(o.stride[0]),
        to_int(o.stride[1]), to_int(o.dilation[0]), to_int(o.dilation[1]),
        CUDNN_CROSS_CORRELATION, data_type(t)));
    TDSEG_CUDNN_CHECK(cudnnSetConvolutionGroupCount(conv.get(), to_int(o.groups)));
    // Set before the search: cuDNN then ranks the algorithms allowed under this mode.
    TDSEG_CUDNN_CHECK(cudnnSetConvolutionMathType(conv.get(), math));
  }
};

// The device buffers of one direction: (x, w) -> y, (w, dy) -> dx, (x, dy) -> dw.
struct Buffers {
  const void* a;
  const void* b;
  void* out;
};

enum Direction : int64_t { kForward, kBackwardData, kBackwardFilter };
const char* const kDirectionNames[] = {"forward", "backward data", "backward filter"};

// One direction of the convolution: Buffers (a, b) -> out over the descriptors A, B -> Out
// of the Problem, its perf record, and cuDNN's three calls for it, which all take their
// descriptors in that order: the heuristic ranking (cudnnGet*Algorithm_v7), the timed
// ranking (cudnnFind*AlgorithmEx) and the convolution itself.
template <Direction D, typename PerfT, int Count, auto A, auto B, auto Out, auto Heuristic,
          auto Timed, auto Run>
struct CudnnDirection {
  using Perf = PerfT;
  using Algo = decltype(Perf::algo);
  static constexpr Direction kDirection = D;
  static constexpr int kCount = Count;
  static void heuristic(cudnnHandle_t h, const Problem& p, int* n, Perf* perf) {
    TDSEG_CUDNN_CHECK(Heuristic(h, (p.*A).get(), (p.*B).get(), p.conv.get(), (p.*Out).get(),
                                kCount, n, perf));
  }
  static void timed(cudnnHandle_t h, const Problem& p, const Buffers& b, void* ws, size_t bytes,
                    int* n, Perf* perf) {
    TDSEG_CUDNN_CHECK(Timed(h, (p.*A).get(), b.a, (p.*B).get(), b.b, p.conv.get(),
                            (p.*Out).get(), b.out, kCount, n, perf, ws, bytes));
  }
  static void run(cudnnHandle_t h, const Problem& p, const Buffers& b, int algo, void* ws,
                  size_t bytes, const void* one, const void* zero) {
    TDSEG_CUDNN_CHECK(Run(h, one, (p.*A).get(), b.a, (p.*B).get(), b.b, p.conv.get(),
                          static_cast<Algo>(algo), ws, bytes, zero, (p.*Out).get(), b.out));
  }
};

// y = conv(x, w)
using Forward =
    CudnnDirection<kForward, cudnnConvolutionFwdAlgoPerf_t, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                   &Problem::x, &Problem::w, &Problem::y, cudnnGetConvolutionForwardAlgorithm_v7,
                   cudnnFindConvolutionForwardAlgorithmEx, cudnnConvolutionForward>;
// dx from (w, dy)
using BackwardData =
    CudnnDirection<kBackwardData, cudnnConvolutionBwdDataAlgoPerf_t,
                   CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &Problem::w, &Problem::y, &Problem::x,
                   cudnnGetConvolutionBackwardDataAlgorithm_v7,
                   cudnnFindConvolutionBackwardDataAlgorithmEx, cudnnConvolutionBackwardData>;
// dw from (x, dy)
using BackwardFilter =
    CudnnDirection<kBackwardFilter, cudnnConvolutionBwdFilterAlgoPerf_t,
                   CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &Problem::x, &Problem::y, &Problem::w,
                   cudnnGetConvolutionBackwardFilterAlgorithm_v7,
                   cudnnFindConvolutionBackwardFilterAlgorithmEx, cudnnConvolutionBackwardFilter>;

// Workspace from the caching allocator, as int32 words (a Tensor needs a dtype). Zero
// bytes is no tensor and a null pointer, which cuDNN accepts with size 0.
Tensor workspace(size_t bytes, Device device) {
  if (bytes == 0) return Tensor();
  return Tensor::empty({static_cast<int64_t>((bytes + 3) / 4)}, DType::Int32, device);
}
void* address(const Tensor& ws) { return ws.defined() ? ws.data_ptr() : nullptr; }

bool workspace_available(size_t bytes, Device device) {
  try {
    workspace(bytes, device);  // freed at once: back into the cache for the call to take
    return true;
  } catch (const std::bad_alloc&) {
    return false;
  }
}

// The most a timed search may give the algorithms it tries (they are ranked within it).
constexpr size_t kMaxSearchWorkspace = size_t(1) << 30;

struct Choice {
  int algo = 0;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
  size_t workspace = 0;
  float time_ms = 0;  // measured by a timed search; -1 for a heuristic one
};

// The first ranked algorithm that succeeded, keeps the requested precision and whose
// workspace can be had. Under CUDNN_FMA_MATH a result of another math type is skipped
// (PyTorch asserts the same), so strict float32 never runs a TF32 kernel.
template <typename Perf>
Choice first_usable(const Perf* perf, int n, const Problem& p, Device device, const char* what,
                    bool timed) {
  for (int i = 0; i < n; ++i) {
    const Perf& r = perf[i];
    if (r.status != CUDNN_STATUS_SUCCESS) continue;
    if (r.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) continue;
    if (p.math == CUDNN_FMA_MATH && r.mathType != CUDNN_FMA_MATH) continue;
    if (!workspace_available(r.memory, device)) continue;
    return {static_cast<int>(r.algo), r.mathType, r.memory, timed ? r.time : -1.0f};
  }
  throw CudaError(cat("cudnn conv2d: no usable ", what, " algorithm for input ",
                      shape_str(p.x_shape), ", weight ", shape_str(p.w_shape), " (",
                      dtype_name(p.dtype), ", ", n, " candidates)"));
}

template <typename Dir>
Choice search(const Problem& p, const Buffers& b, Device device, bool timed) {
  cudnnHandle_t h = context(device.index).dnn.get();
  typename Dir::Perf perf[Dir::kCount];
  int n = 0;
  Dir::heuristic(h, p, &n, perf);
  if (timed) {
    // Workspace for the search: the largest any ranked algorithm asks for, capped, and
    // halved until the allocator can give it.
    size_t budget = 0;
    for (int i = 0; i < n; ++i)
      if (perf[i].status == CUDNN_STATUS_SUCCESS) budget = std::max(budget, perf[i].memory);
    budget = std::min(budget, kMaxSearchWorkspace);
    Tensor ws;
    for (;;) {
      try {
        ws = workspace(budget, device);
        break;
      } catch (const std::bad_alloc&) {
        if (budget == 0) throw;
        budget /= 2;
      }
    }
    Dir::timed(h, p, b, address(ws), budget, &n, perf);
  }
  return first_usable(perf, n, p, device, kDirectionNames[Dir::kDirection], timed);
}

using Key = std::array<int64_t, 22>;

std::atomic<ConvAlgoSearch> g_search{ConvAlgoSearch::Heuristic};
std::atomic<int64_t> g_searches{0};
std::mutex g_cache_mutex;
std::map<Key, Choice> g_cache;

Key key_of(Direction d, Device device, const Problem& p, ConvAlgoSearch search) {
  const Shape &x = p.x_shape, &w = p.w_shape;
  const ops::Conv2dOptions& o = p.options;
  return {d, device.index, static_cast<int64_t>(p.dtype), p.math, static_cast<int64_t>(search),
          x[0], x[1], x[2], x[3], w[0], w[1], w[2], w[3],
          o.stride[0], o.stride[1], o.padding[0], o.padding[1], o.dilation[0], o.dilation[1],
          o.groups, p.y_shape[2], p.y_shape[3]};
}

// The cached choice for this key, searching on a miss. Two threads missing the same key
// at once both search; the first insertion wins and both are counted.
template <typename Dir>
Choice cached_choice(const Problem& p, const Buffers& b, Device device) {
  const ConvAlgoSearch mode = g_search;
  const Key key = key_of(Dir::kDirection, device, p, mode);
  {
    std::lock_guard<std::mutex> lock(g_cache_mutex);
    auto it = g_cache.find(key);
    if (it != g_cache.end()) return it->second;
  }
  ++g_searches;
  const Choice c = search<Dir>(p, b, device, mode == ConvAlgoSearch::Timed);
  std::lock_guard<std::mutex> lock(g_cache_mutex);
  return g_cache.emplace(key, c).first->second;
}

// One direction: the algorithm from the cache, its math type on the descriptor (cuDNN
// picks kernels by algorithm and math type together), its workspace, the call.
template <typename Dir>
void convolve(const Problem& p, const Buffers& b, Device device) {
  const Choice c = cached_choice<Dir>(p, b, device);
  TDSEG_CUDNN_CHECK(cudnnSetConvolutionMathType(p.conv.get(), c.math));
  const Tensor ws = workspace(c.workspace, device);
  const double one64 = 1, zero64 = 0;
  const float one32 = 1, zero32 = 0;
  const bool f64 = p.dtype == DType::Float64;  // cuDNN reads double scalars for double data
  Dir::run(context(device.index).dnn.get(), p, b, c.algo, address(ws), c.workspace,
           f64 ? static_cast<const void*>(&one64) : &one32,
           f64 ? static_cast<const void*>(&zero64) : &zero32);
}

}  // namespace

void set_conv_algo_search(ConvAlgoSearch search) { g_search = search; }
ConvAlgoSearch conv_algo_search() { return g_search; }
int64_t conv_algo_searches() { return g_searches; }

void cudnn_conv_forward(const Tensor& x, const Tensor& w, const Tensor& y,
                        const ops::Conv2dOptions& o) {
  const Problem p(x.shape(), w.shape(), y.shape(), x.dtype(), o);
  convolve<Forward>(p, {x.data_ptr(), w.data_ptr(), y.data_ptr()}, x.device());
}

void cudnn_conv_backward_data(const Tensor& w, const Tensor& dy, const Tensor& dx,
                              const ops::Conv2dOptions& o) {
  const Problem p(dx.shape(), w.shape(), dy.shape(), dx.dtype(), o);
  convolve<BackwardData>(p, {w.data_ptr(), dy.data_ptr(), dx.data_ptr()}, dx.device());
}

void cudnn_conv_backward_filter(const Tensor& x, const Tensor& dy, const Tensor& dw,
                                const ops::Conv2dOptions& o) {
  const Problem p(x.shape(), dw.shape(), dy.shape(), x.dtype(), o);
  convolve<BackwardFilter>(p, {x.data_ptr(), dy.data_ptr(), dw.data_ptr()}, x.device());
}

void cudnn_add_bias(const Tensor& y, const Tensor& bias) {
  TensorDescriptor yd, bd;
  set_nchw(yd, y.shape(), y.dtype());
  set_nchw(bd, {1, bias.size(0), 1, 1}, bias.dtype());
  const double one64 = 1;
  const float one32 = 1;
  const void* one = y.dtype() == DType::Float64 ? static_cast<const void*>(&one64) : &one32;
  TDSEG_CUDNN_CHECK(cudnnAddTensor(context(y).dnn.get(), one, bd.get(), bias.data_ptr(), one,
                                   yd.get(), y.data_ptr()));
}

void cudnn_bias_grad(const Tensor& dy, const Tensor& db) {
  TensorDescriptor dyd, dbd;
  set_nchw(dyd, dy.shape(), dy.dtype());
  set_nchw(dbd, {1, db.size(0), 1, 1}, db.dtype());
  const double one64 = 1, zero64 = 0;
  const float one32 = 1, zero32 = 0;
  const bool f64 = dy.dtype() == DType::Float64;
  TDSEG_CUDNN_CHECK(cudnnConvolutionBackwardBias(
      context(dy).dnn.get(), f64 ? static_cast<const void*>(&one64) : &one32, dyd.get(),
      dy.data_ptr(), f64 ? static_cast<const void*>(&zero64) : &zero32, dbd.get(),
      db.data_ptr()));
}

ConvBestTimes cudnn_conv_best_times(const Tensor& x, const Tensor& w, const Tensor& dy,
                                    const ops::Conv2dOptions& o) {
  const Problem p(x.shape(), w.shape(), dy.shape(), x.dtype(), o);
  const Device d = x.device();
  const Tensor y = Tensor::empty(dy.shape(), dy.dtype(), d);
  const Tensor dx = Tensor::empty(x.shape(), x.dtype(), d);
  const Tensor dw = Tensor::empty(w.shape(), w.dtype(), d);
  ConvBestTimes t;
  t.forward_ms = search<Forward>(p, {x.data_ptr(), w.data_ptr(), y.data_ptr()}, d, true).time_ms;
  t.backward_data_ms =
      search<BackwardData>(p, {w.data_ptr(), dy.data_ptr(), dx.data_ptr()}, d, true).time_ms;
  t.backward_filter_ms =
      search<BackwardFilter>(p, {x.data_ptr(), dy.data_ptr(), dw.data_ptr()}, d, true).time_ms;
  return t;
}

}  // namespace tdseg::cuda
