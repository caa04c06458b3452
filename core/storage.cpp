#include "core/storage.h"

#include <cstdlib>
#include <new>

#include "core/error.h"

namespace tdseg {

Storage::Storage(size_t bytes, Device device) : bytes_(bytes), device_(device) {
  check<DeviceError>(device.is_cpu(), "storage: ", device.str(),
                     " memory needs the CUDA backend, which does not allocate tensors yet");
  // aligned_alloc wants a size that is a multiple of the alignment, and never 0.
  size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  data_ = std::aligned_alloc(kAlignment, rounded ? rounded : kAlignment);
  if (!data_) throw std::bad_alloc();
}

Storage::~Storage() { std::free(data_); }

}  // namespace tdseg
