#include "core/tensor.h"

#include <cmath>
#include <cstring>

#include "core/autograd.h"
#include "core/device_memory.h"
#include "cuda/ops/map.h"

namespace tdseg {

namespace {

std::shared_ptr<TensorImpl> make_impl(const Shape& shape, DType dtype, Device device,
                                      bool pinned = false) {
  for (int64_t d : shape)
    check<ShapeError>(d >= 0, "tensor: negative size in shape ", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(numel(shape) * dtype_size(dtype), device, pinned);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return impl;
}

// Reshape view: its backward reshapes the gradient back to the input's shape.
struct ReshapeBackward : Node {
  Shape input_shape;
  explicit ReshapeBackward(Shape s) : input_shape(std::move(s)) {}
  const char* name() const override { return "reshape"; }
  std::vector<Tensor> backward(const Tensor& g) override {
    return {g.contiguous().reshape(input_shape)};
  }
};

// A copy to another device: its backward copies the gradient back.
struct ToDeviceBackward : Node {
  Device source;
  explicit ToDeviceBackward(Device d) : source(d) {}
  const char* name() const override { return "to_device"; }
  std::vector<Tensor> backward(const Tensor& g) override { return {g.to(source)}; }
};

size_t bytes_of(const Tensor& t) { return t.numel() * dtype_size(t.dtype()); }

}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  return Tensor(make_impl(shape, dtype, device));
}

Tensor Tensor::empty_pinned(const Shape& shape, DType dtype) {
  return Tensor(make_impl(shape, dtype, Device::cpu(), true));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  if (device.is_cuda())
    device_memory::zero(t.data_ptr(), device, bytes_of(t));
  else
    std::memset(t.data_ptr(), 0, bytes_of(t));
  return t;
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  fill_(t, value);
  return t;
}

Tensor Tensor::randn(const Shape& shape, Generator& gen, DType dtype, double mean,
                     double stddev) {
  Tensor t = empty(shape, dtype);
  dispatch_floating(dtype, "randn", [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<T>(mean + stddev * gen.normal());
  });
  return t;
}

Tensor Tensor::uniform(const Shape& shape, Generator& gen, double lo, double hi, DType dtype) {
  Tensor t = empty(shape, dtype);
  dispatch_floating(dtype, "uniform", [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<T>(gen.uniform(lo, hi));
  });
  return t;
}

template <typename T>
Tensor Tensor::from_vector(const Shape& shape, const std::vector<T>& values) {
  check<ShapeError>(static_cast<int64_t>(values.size()) == tdseg::numel(shape),
                    "from_vector: ", values.size(), " values do not fill shape ", shape_str(shape));
  Tensor t = empty(shape, dtype_of<T>());
  std::memcpy(t.data<T>(), values.data(), values.size() * sizeof(T));
  return t;
}
template Tensor Tensor::from_vector(const Shape&, const std::vector<float>&);
template Tensor Tensor::from_vector(const Shape&, const std::vector<double>&);
template Tensor Tensor::from_vector(const Shape&, const std::vector<int32_t>&);

TensorImpl& Tensor::impl() const {
  check<Error>(impl_ != nullptr, "tensor: use of an undefined tensor");
  return *impl_;
}

int64_t Tensor::size(int d) const {
  int n = dim();
  check<ShapeError>(d >= -n && d < n, "size: dim ", d, " out of range for shape ",
                    shape_str(shape()));
  return shape()[d < 0 ? d + n : d];
}

bool Tensor::is_contiguous() const { return strides() == contiguous_strides(shape()); }

std::string Tensor::str() const {
  if (!defined()) return "undefined";
  return cat(dtype_name(dtype()), shape_str(shape()), " on ", device().str());
}

template <typename T>
T* Tensor::data() const {
  check<DTypeError>(dtype() == dtype_of<T>(), "data: tensor is ", dtype_name(dtype()),
                    ", accessed as ", dtype_name(dtype_of<T>()));
  check<DeviceError>(device().is_cpu(), "data: host access to a tensor on ", device().str());
  return static_cast<T*>(impl().storage->data()) + impl().offset;
}
template float* Tensor::data<float>() const;
template double* Tensor::data<double>() const;
template int32_t* Tensor::data<int32_t>() const;

void* Tensor::data_ptr() const {
  return static_cast<char*>(impl().storage->data()) + impl().offset * dtype_size(dtype());
}

double Tensor::item() const {
  check<ShapeError>(numel() == 1, "item: tensor ", str(), " has ", numel(), " elements, not 1");
  if (device().is_cuda()) return to(Device::cpu()).item();
  double v = 0;
  dispatch_all(dtype(), [&](auto tag) { v = static_cast<double>(*data<decltype(tag)>()); });
  return v;
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  // Only contiguous tensors are ever created today; a strided copy arrives with the first
  // op that makes non-contiguous views (transpose, slicing).
  throw ShapeError(cat("contiguous: strided copies are not supported (", str(), ")"));
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype(), device());
  const Tensor src = contiguous();
  device_memory::copy(out.data_ptr(), device(), src.data_ptr(), device(), bytes_of(src));
  return out;
}

Tensor Tensor::reshape(Shape s) const {
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      check<ShapeError>(infer < 0, "reshape: more than one -1 in ", shape_str(s));
      infer = static_cast<int>(i);
    } else {
      check<ShapeError>(s[i] >= 0, "reshape: negative size in ", shape_str(s));
      known *= s[i];
    }
  }
  if (infer >= 0) {
    check<ShapeError>(known > 0 && numel() % known == 0, "reshape: cannot infer -1 in ",
                      shape_str(s), " from ", shape_str(shape()));
    s[infer] = numel() / known;
  }
  check<ShapeError>(tdseg::numel(s) == numel(), "reshape: ", shape_str(shape()), " (", numel(),
                    " elements) cannot become ", shape_str(s));
  Tensor src = contiguous();
  auto view = std::make_shared<TensorImpl>();
  view->storage = src.impl().storage;
  view->offset = src.impl().offset;
  view->shape = s;
  view->strides = contiguous_strides(s);
  view->dtype = dtype();
  Tensor out(view);
  if (needs_grad({*this}))
    record(out, {*this}, std::make_shared<ReshapeBackward>(shape()));
  return out;
}

Tensor Tensor::flatten(int start_dim) const {
  int n = dim();
  check<ShapeError>(start_dim >= 0 && start_dim <= n, "flatten: start_dim ", start_dim,
                    " out of range for shape ", shape_str(shape()));
  Shape s(shape().begin(), shape().begin() + start_dim);
  s.push_back(tdseg::numel(Shape(shape().begin() + start_dim, shape().end())));
  return reshape(s);
}

Tensor Tensor::to(DType t) const {
  Tensor src = contiguous();
  Tensor out = empty(shape(), t, device());
  if constexpr (kCudaBuilt) {
    if (device().is_cuda()) {
      cuda::cast(src, out);
      return out;
    }
  }
  dispatch_all(dtype(), [&](auto from) {
    dispatch_all(t, [&](auto to) {
      const auto* a = src.data<decltype(from)>();
      auto* b = out.data<decltype(to)>();
      for (int64_t i = 0; i < numel(); ++i) b[i] = static_cast<decltype(to)>(a[i]);
    });
  });
  return out;
}

Tensor Tensor::to(Device d) const {
  if (d == device()) return *this;
  const Tensor src = contiguous();
  Tensor out = empty(shape(), dtype(), d);
  device_memory::copy(out.data_ptr(), d, src.data_ptr(), device(), bytes_of(src));
  if (needs_grad({*this})) record(out, {*this}, std::make_shared<ToDeviceBackward>(device()));
  return out;
}

void move_to_(const Tensor& t, Device d) {
  check<AutogradError>(t.is_leaf(), "move_to_: ", t.str(), " is not a leaf");
  if (t.device() == d) return;
  const Tensor moved = t.detach().to(d);
  TensorImpl& impl = t.impl();
  impl.storage = moved.impl().storage;
  impl.offset = moved.impl().offset;
  impl.strides = moved.impl().strides;
  if (impl.grad) impl.grad = Tensor(impl.grad).to(d).impl_ptr();
}

Tensor Tensor::detach() const {
  auto view = std::make_shared<TensorImpl>(impl());
  view->requires_grad = false;
  view->grad.reset();
  view->grad_fn.reset();
  return Tensor(view);
}

Tensor& Tensor::set_requires_grad(bool on) {
  check<AutogradError>(is_leaf(), "set_requires_grad: only a leaf tensor can change it (",
                       str(), " was produced by ", grad_fn() ? grad_fn()->name() : "?", ")");
  check<DTypeError>(!on || is_floating(dtype()), "set_requires_grad: ", str(),
                    " is not floating point");
  impl().requires_grad = on;
  return *this;
}

void Tensor::backward(const Tensor& grad) const { run_backward(*this, grad); }

void fill_(const Tensor& t, double value) {
  if constexpr (kCudaBuilt) {
    if (t.device().is_cuda()) return cuda::fill(t, value);
  }
  dispatch_all(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<T>(value);
  });
}

void add_inplace(const Tensor& dst, const Tensor& src) {
  check<ShapeError>(dst.shape() == src.shape(), "add_inplace: shapes ", shape_str(dst.shape()),
                    " and ", shape_str(src.shape()), " differ");
  check<DTypeError>(dst.dtype() == src.dtype(), "add_inplace: dtypes ", dtype_name(dst.dtype()),
                    " and ", dtype_name(src.dtype()), " differ");
  check<DeviceError>(dst.device() == src.device(), "add_inplace: tensors on ",
                     dst.device().str(), " and ", src.device().str());
  if constexpr (kCudaBuilt) {
    if (dst.device().is_cuda()) return cuda::add_inplace(dst, src.contiguous());
  }
  dispatch_floating(dst.dtype(), "add_inplace", [&](auto tag) {
    using T = decltype(tag);
    T* d = dst.data<T>();
    const T* s = src.data<T>();
    for (int64_t i = 0; i < dst.numel(); ++i) d[i] += s[i];
  });
}

}  // namespace tdseg
