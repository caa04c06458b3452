// Reference-counted raw memory. Tensors share a Storage through std::shared_ptr, so a
// view (reshape, flatten, detach) costs no copy. CPU memory is 64-byte aligned (one
// cache line, and the widest AVX-512 load), so kernels may use aligned vector loads.
// CUDA memory comes from the device's caching allocator (core/device_memory.h); pinned
// host memory, the staging area of copies to a GPU, from the pinned pool.
#pragma once
#include <cstddef>

#include "core/device.h"

namespace tdseg {

class Storage {
 public:
  static constexpr size_t kAlignment = 64;

  Storage(size_t bytes, Device device, bool pinned = false);  // pinned: host memory only
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }
  bool pinned() const { return pinned_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
  Device device_;
  bool pinned_ = false;
};

}  // namespace tdseg
