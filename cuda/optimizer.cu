// The optimiser updates on the GPU: each reads w, g and its slots and writes w and the
// slots once (SGD 20 B per parameter, Adam 28 B): bandwidth-bound and tiny next to a step.
// The tensors of one launch ride in its arguments (a Batch, 2.4 KB of the 4 KB a launch may
// pass); block b works on chunk b - first[t] of the tensor t with first[t] <= b < first[t+1].
#include <algorithm>

#include "core/device_memory.h"
#include "cuda/block_reduce.cuh"
#include "cuda/context.h"
#include "cuda/launch.h"
#include "cuda/optimizer.h"

namespace tdseg::cuda {

namespace {

constexpr int kTensorsPerLaunch = 40;
constexpr int64_t kChunk = 8 * kThreads;  // elements a block

struct Batch {
  float* w[kTensorsPerLaunch];
  const float* g[kTensorsPerLaunch];
  float* s1[kTensorsPerLaunch];
  float* s2[kTensorsPerLaunch];
  int64_t n[kTensorsPerLaunch];
  float wd[kTensorsPerLaunch];
  int64_t first[kTensorsPerLaunch + 1];  // first block of each tensor, then the grid's size
  int64_t index[kTensorsPerLaunch];      // the tensor's place in the caller's list
  int count = 0;
};

// This block's tensor, and the elements [begin, end) of it that are its chunk.
struct Chunk {
  int t;
  int64_t begin, end;
};

__device__ inline Chunk chunk_of(const Batch& b) {
  int t = 0;
  while (blockIdx.x >= b.first[t + 1]) ++t;
  const int64_t begin = (blockIdx.x - b.first[t]) * kChunk;
  return {t, begin, min(begin + kChunk, b.n[t])};
}

// v <- momentum v + (clip g + wd w);  w <- w - rate v
__global__ void sgd_kernel(Batch b, UpdateScalars s) {
  const Chunk c = chunk_of(b);
  float *w = b.w[c.t], *v = b.s1[c.t];
  const float* g = b.g[c.t];
  const float wd = b.wd[c.t], clip = s.clip ? *s.clip : 1.0f;
  for (int64_t i = c.begin + threadIdx.x; i < c.end; i += blockDim.x) {
    v[i] = s.momentum * v[i] + (g[i] * clip + wd * w[i]);
    w[i] -= s.rate * v[i];
  }
}

// m <- b1 m + (1 - b1) g';  v <- b2 v + (1 - b2) g'^2;  w <- w - lr m^ / (sqrt(v^) + 1e-8)
__global__ void adam_kernel(Batch b, UpdateScalars s) {
  const Chunk c = chunk_of(b);
  float *w = b.w[c.t], *m = b.s1[c.t], *v = b.s2[c.t];
  const float* g = b.g[c.t];
  const float wd = b.wd[c.t], clip = s.clip ? *s.clip : 1.0f;
  for (int64_t i = c.begin + threadIdx.x; i < c.end; i += blockDim.x) {
    const double gi = static_cast<double>(g[i]) * clip + wd * w[i];
    m[i] = static_cast<float>(s.beta1 * m[i] + (1 - s.beta1) * gi);
    v[i] = static_cast<float>(s.beta2 * v[i] + (1 - s.beta2) * gi * gi);
    w[i] -= static_cast<float>(s.lr * (m[i] / s.correction1) /
                               (sqrt(v[i] / s.correction2) + 1e-8));
  }
}

// partial[offset + block] = the sum of squares of this block's chunk, in double.
__global__ void chunk_squares_kernel(Batch b, int64_t offset, double* __restrict__ partial) {
  const Chunk c = chunk_of(b);
  const float* x = b.g[c.t];
  double s = 0;
  for (int64_t i = c.begin + threadIdx.x; i < c.end; i += blockDim.x) s += double(x[i]) * x[i];
  store_block_sum(s, partial + offset + blockIdx.x);
}

// sums[index[t]] = the partials of tensor t's chunks, added in order: one thread a tensor.
__global__ void add_chunks_kernel(Batch b, int64_t offset, const double* __restrict__ partial,
                                  double* __restrict__ sums) {
  const int t = threadIdx.x;
  if (t >= b.count) return;
  double s = 0;
  for (int64_t p = b.first[t]; p < b.first[t + 1]; ++p) s += partial[offset + p];
  sums[b.index[t]] = s;
}

// factor = clip_scale(sum of sums[0..n) in order, max_norm): one thread, n tensors.
__global__ void clip_factor_kernel(const double* __restrict__ sums, int64_t n, double max_norm,
                                   float* __restrict__ factor) {
  double sq = 0;
  for (int64_t k = 0; k < n; ++k) sq += sums[k];
  *factor = clip_scale(sq, max_norm);
}

int64_t chunks(int64_t n) { return (n + kChunk - 1) / kChunk; }

// Calls launch(batch) for consecutive groups of up to kTensorsPerLaunch targets, each
// filled by fill(batch, slot, target); tensors without elements are left out.
template <typename Target, typename Fill, typename Launch>
void for_batches(const std::vector<Target>& targets, Fill&& fill, Launch&& launch) {
  Batch b;
  b.first[0] = 0;
  for (size_t k = 0; k <= targets.size(); ++k) {
    const bool last = k == targets.size();
    if (b.count > 0 && (last || b.count == kTensorsPerLaunch)) {
      launch(b);
      b.count = 0;
    }
    if (last) break;
    const int64_t n = fill(b, b.count, targets[k]);
    if (n == 0) continue;
    b.n[b.count] = n;
    b.index[b.count] = static_cast<int64_t>(k);
    b.first[b.count + 1] = b.first[b.count] + chunks(n);
    ++b.count;
  }
}

template <typename Kernel>
void update(const std::vector<UpdateTarget>& targets, const UpdateScalars& s, bool adam,
            Kernel kernel) {
  if (targets.empty()) return;
  const cudaStream_t st = stream(targets.front().w);
  for_batches(
      targets,
      [&](Batch& b, int i, const UpdateTarget& t) {
        b.w[i] = ptr<float>(t.w);
        b.g[i] = ptr<float>(t.g);
        b.s1[i] = ptr<float>(t.slot1);
        b.s2[i] = adam ? ptr<float>(t.slot2) : nullptr;
        b.wd[i] = t.weight_decay;
        return t.w.numel();
      },
      [&](const Batch& b) {
        kernel<<<static_cast<unsigned>(b.first[b.count]), kThreads, 0, st>>>(b, s);
        TDSEG_LAUNCH_CHECK();
      });
}

}  // namespace

void sgd_update(const std::vector<UpdateTarget>& targets, const UpdateScalars& s) {
  update(targets, s, false, sgd_kernel);
}

void adam_update(const std::vector<UpdateTarget>& targets, const UpdateScalars& s) {
  update(targets, s, true, adam_kernel);
}

void sum_squares(const std::vector<Tensor>& xs, const Tensor& sums) {
  if (xs.empty()) return;
  const cudaStream_t st = stream(sums);
  int64_t total = 0;
  for (const Tensor& x : xs) total += chunks(x.numel());
  // An empty tensor has no chunk and no launch: its sum is the zero written here.
  device_memory::zero(sums.data_ptr(), sums.device(), xs.size() * sizeof(double));
  const Tensor partial = Tensor::empty({std::max<int64_t>(total, 1)}, DType::Float64, sums.device());
  int64_t offset = 0;
  for_batches(
      xs,
      [&](Batch& b, int i, const Tensor& x) {
        b.g[i] = ptr<float>(x);
        return x.numel();
      },
      [&](const Batch& b) {
        chunk_squares_kernel<<<static_cast<unsigned>(b.first[b.count]), kThreads, 0, st>>>(
            b, offset, ptr<double>(partial));
        add_chunks_kernel<<<1, kTensorsPerLaunch, 0, st>>>(b, offset, ptr<double>(partial),
                                                          ptr<double>(sums));
        TDSEG_LAUNCH_CHECK();
        offset += b.first[b.count];
      });
}

void clip_factor(const Tensor& sums, double max_norm, const Tensor& factor) {
  clip_factor_kernel<<<1, 1, 0, stream(sums)>>>(ptr<double>(sums), sums.numel(), max_norm,
                                               ptr<float>(factor));
  TDSEG_LAUNCH_CHECK();
}

}  // namespace tdseg::cuda
