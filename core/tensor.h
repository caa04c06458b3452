// Tensor: a shared handle to (storage, offset, shape, strides, dtype) plus autograd state.
// Copying a Tensor copies the handle, not the data. Tensors are NCHW and contiguous by
// default; reshape/flatten of a contiguous tensor is a view on the same storage.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/random.h"
#include "core/shape.h"
#include "core/storage.h"

namespace tdseg {

struct Node;
class Tensor;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  Shape shape;
  Shape strides;       // in elements
  DType dtype = DType::Float32;
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;  // accumulated gradient of a leaf
  std::shared_ptr<Node> grad_fn;     // the op that produced this tensor, if recorded
};

class Tensor {
 public:
  Tensor() = default;  // undefined: no storage
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // Creation. Shapes are checked (no negative sizes); contents of empty() are undefined.
  static Tensor empty(const Shape& shape, DType dtype = DType::Float32,
                      Device device = Device::cpu());
  // Host memory that is page-locked (cuda/pinned_memory.h): a copy from it to a GPU is
  // queued and not waited for, so the host must not write to it again until the copy has
  // run (fill a fresh one: its block is reused only then). Needs the CUDA backend and a
  // device.
  static Tensor empty_pinned(const Shape& shape, DType dtype = DType::Float32);
  static Tensor zeros(const Shape& shape, DType dtype = DType::Float32,
                      Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::Float32,
                     Device device = Device::cpu());
  static Tensor ones(const Shape& shape, DType dtype = DType::Float32) {
    return full(shape, 1.0, dtype);
  }
  static Tensor randn(const Shape& shape, Generator& gen, DType dtype = DType::Float32,
                      double mean = 0.0, double stddev = 1.0);
  static Tensor uniform(const Shape& shape, Generator& gen, double lo, double hi,
                        DType dtype = DType::Float32);
  template <typename T>
  static Tensor from_vector(const Shape& shape, const std::vector<T>& values);

  // Metadata.
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  const Shape& strides() const { return impl().strides; }
  int64_t size(int dim) const;  // negative dims count from the end
  int dim() const { return static_cast<int>(shape().size()); }
  int64_t numel() const { return tdseg::numel(shape()); }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device(); }
  bool is_pinned() const { return impl().storage->pinned(); }
  bool is_contiguous() const;
  std::string str() const;  // "float32[2, 3, 5, 7] on cpu"

  // Element access; T must match dtype(). Pointers are to element (0, ..., 0).
  template <typename T> T* data() const;
  double item() const;  // the value of a one-element tensor, as double
  void* data_ptr() const;  // untyped address of element (0, ..., 0), on any device

  // Copies and views. reshape() accepts one -1; it is a view when the tensor is
  // contiguous and recorded in the autograd graph when it requires a gradient.
  Tensor contiguous() const;
  Tensor clone() const;  // a contiguous copy, detached from the graph
  Tensor reshape(Shape shape) const;
  Tensor flatten(int start_dim = 0) const;  // merges dims start_dim.. into one
  Tensor to(DType dtype) const;             // a detached copy in another dtype
  // The same values on another device: *this when already there, else a copy that is
  // recorded in the autograd graph (its gradient is copied back).
  Tensor to(Device device) const;
  Tensor detach() const;                    // same storage, no autograd history

  // Autograd. A leaf that requires a gradient accumulates one in grad() on backward().
  bool requires_grad() const { return impl().requires_grad; }
  Tensor& set_requires_grad(bool on);
  bool is_leaf() const { return impl().grad_fn == nullptr; }
  Tensor grad() const { return Tensor(impl().grad); }
  void zero_grad() const { impl().grad.reset(); }
  const std::shared_ptr<Node>& grad_fn() const { return impl().grad_fn; }
  // Back-propagates from this tensor: `grad` defaults to 1 for a one-element tensor.
  // Releases the graph: a second backward() through the same ops throws.
  void backward(const Tensor& grad = Tensor()) const;

  TensorImpl& impl() const;
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& o) const { return impl_ == o.impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// A detached copy in host memory (the tensor itself when it is already there), for the
// host-side code that reads values: validation, statistics, file output.
inline Tensor host_copy(const Tensor& t) { return t.detach().to(Device::cpu()); }
// Moves a leaf's storage (and its gradient) to another device in place, so that every
// handle to it, such as a module's parameter list, sees the move.
void move_to_(const Tensor& t, Device device);
// Fills a tensor in place with a constant; no autograd record.
void fill_(const Tensor& t, double value);
// dst += src elementwise, in place, no autograd record; shapes and dtypes must match.
void add_inplace(const Tensor& dst, const Tensor& src);

}  // namespace tdseg
