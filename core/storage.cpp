#include "core/storage.h"

#include <cstdlib>
#include <new>

#include "core/device_memory.h"
#include "core/error.h"

namespace tdseg {

Storage::Storage(size_t bytes, Device device, bool pinned)
    : bytes_(bytes), device_(device), pinned_(pinned) {
  check<DeviceError>(!pinned || device.is_cpu(), "storage: pinned memory is host memory, not ",
                     device.str());
  if (device.is_cuda()) {
    data_ = device_memory::allocate(device, bytes);  // 512-byte aligned size classes
    return;
  }
  if (pinned) {
    data_ = device_memory::allocate_pinned(bytes);  // 512-byte aligned size classes
    return;
  }
  // aligned_alloc wants a size that is a multiple of the alignment, and never 0.
  size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  data_ = std::aligned_alloc(kAlignment, rounded ? rounded : kAlignment);
  if (!data_) throw std::bad_alloc();
}

Storage::~Storage() {
  if (device_.is_cuda())
    device_memory::release(device_, data_);
  else if (pinned_)
    device_memory::release_pinned(data_);
  else
    std::free(data_);
}

}  // namespace tdseg
