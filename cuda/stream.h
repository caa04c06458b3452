// Move-only owners of a CUDA stream and a CUDA event (tiny-cuda-nn's habit): the handle
// is created in the constructor, destroyed in the destructor, and never copied.
#pragma once
#include <utility>

#include "cuda/check.h"

namespace tdseg::cuda {

class Stream {
 public:
  Stream() { TDSEG_CUDA_CHECK(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking)); }
  ~Stream() { if (s_) cudaStreamDestroy(s_); }
  Stream(Stream&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  Stream& operator=(Stream&& o) noexcept { std::swap(s_, o.s_); return *this; }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  cudaStream_t get() const { return s_; }
  void synchronize() const { TDSEG_CUDA_CHECK(cudaStreamSynchronize(s_)); }

 private:
  cudaStream_t s_ = nullptr;
};

class Event {
 public:
  // cudaEventDisableTiming for an event that only orders or is waited on: lighter.
  explicit Event(unsigned flags = cudaEventDefault) {
    TDSEG_CUDA_CHECK(cudaEventCreateWithFlags(&e_, flags));
  }
  ~Event() { if (e_) cudaEventDestroy(e_); }
  Event(Event&& o) noexcept : e_(std::exchange(o.e_, nullptr)) {}
  Event& operator=(Event&& o) noexcept { std::swap(e_, o.e_); return *this; }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  void record(cudaStream_t s) { TDSEG_CUDA_CHECK(cudaEventRecord(e_, s)); }
  void synchronize() const { TDSEG_CUDA_CHECK(cudaEventSynchronize(e_)); }
  // Whether the work before the event's record has completed; does not wait.
  bool done() const {
    const cudaError_t err = cudaEventQuery(e_);
    if (err == cudaErrorNotReady) {
      cudaGetLastError();  // not a failure: keep it out of the next check
      return false;
    }
    TDSEG_CUDA_CHECK(err);
    return true;
  }
  // Milliseconds from `start` to this event; both recorded, this one completed.
  float since(const Event& start) const {
    float ms = 0;
    TDSEG_CUDA_CHECK(cudaEventElapsedTime(&ms, start.e_, e_));
    return ms;
  }

 private:
  cudaEvent_t e_ = nullptr;
};

}  // namespace tdseg::cuda
