// Input validation shared by the op builders. Each throws a typed error whose message
// starts with the op's name and shows the offending shapes or dtypes.
#pragma once
#include "core/tensor.h"

namespace tdseg::ops {

inline void check_defined(const char* op, const Tensor& t, const char* what) {
  check<ValueError>(t.defined(), op, ": ", what, " is undefined");
}

inline void check_floating(const char* op, const Tensor& t) {
  check<DTypeError>(is_floating(t.dtype()), op, ": expected float32 or float64, got ", t.str());
}

inline void check_rank(const char* op, const Tensor& t, int rank, const char* what) {
  check<ShapeError>(t.dim() == rank, op, ": ", what, " must have ", rank, " dims, got ",
                    shape_str(t.shape()));
}

inline void check_same_shape(const char* op, const Tensor& a, const Tensor& b) {
  check<ShapeError>(a.shape() == b.shape(), op, ": shapes ", shape_str(a.shape()), " and ",
                    shape_str(b.shape()), " differ");
}

inline void check_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  check<DTypeError>(a.dtype() == b.dtype(), op, ": dtypes ", dtype_name(a.dtype()), " and ",
                    dtype_name(b.dtype()), " differ");
}

inline void check_same_device(const char* op, const Tensor& a, const Tensor& b) {
  check<DeviceError>(a.device() == b.device(), op, ": tensors on ", a.device().str(), " and ",
                     b.device().str(), " (move one with .to(device) first)");
}

// Both floating, same dtype, same device, same shape.
inline void check_binary(const char* op, const Tensor& a, const Tensor& b) {
  check_defined(op, a, "first input");
  check_defined(op, b, "second input");
  check_floating(op, a);
  check_same_dtype(op, a, b);
  check_same_device(op, a, b);
  check_same_shape(op, a, b);
}

}  // namespace tdseg::ops
