// One Context per GPU, made on first use: its stream (every kernel, copy and library call
// of tdseg on that device is ordered on it), its cuBLAS and cuDNN handles, its caching
// allocator, and the math switches. context(i) also makes device i current on the
// calling thread.
#pragma once
#include <memory>

#include "core/tensor.h"
#include "cuda/caching_allocator.h"
#include "cuda/handles.h"
#include "cuda/stream.h"

namespace tdseg::cuda {

struct Context {
  explicit Context(int device);

  int device;
  Stream stream;
  CublasHandle blas;
  CudnnHandle dnn;
  std::unique_ptr<RawAllocator> raw;
  CachingAllocator allocator;
  int sm_count = 0;
};

Context& context(int device);
inline Context& context(const Tensor& t) { return context(t.device().index); }
inline cudaStream_t stream(const Tensor& t) { return context(t).stream.get(); }

// TF32 tensor cores for float32 convolutions and matrix products: on by default (10-bit
// mantissa products, float32 accumulation); off gives strict IEEE float32.
void set_allow_tf32(bool on);
bool allow_tf32();

// Memory statistics and the cache of one device (see cuda/caching_allocator.h).
CachingAllocator::Stats memory_stats(int device = 0);
void empty_cache(int device = 0);
void synchronize(int device = 0);

}  // namespace tdseg::cuda
