// The elementwise maths of the pointwise ops, written once for both twins: the CPU loops
// of core/ops/map.h and the CUDA kernels of cuda/ops/map.cu apply the same functors.
// Constants are double and cast to the element type T where they are used.
#pragma once
#include <cmath>

#include "core/host_device.h"

namespace tdseg::ops::fn {

// Unary: out = f(x).
struct Scale {
  double a;
  template <typename T> TDSEG_HD T operator()(T x) const { return T(a) * x; }
};
struct Divide {
  double a;
  template <typename T> TDSEG_HD T operator()(T x) const { return x / T(a); }
};
struct AddConst {
  double a;
  template <typename T> TDSEG_HD T operator()(T x) const { return x + T(a); }
};
struct Relu {
  template <typename T> TDSEG_HD T operator()(T x) const { return x > T(0) ? x : T(0); }
};
struct Log {
  template <typename T> TDSEG_HD T operator()(T x) const { return std::log(x); }
};
struct ClampMin {
  double floor;
  template <typename T> TDSEG_HD T operator()(T x) const { return x > T(floor) ? x : T(floor); }
};

// Binary: out = f(a, b); the backward ones take (dy, x).
struct Add {
  template <typename T> TDSEG_HD T operator()(T a, T b) const { return a + b; }
};
struct Sub {
  template <typename T> TDSEG_HD T operator()(T a, T b) const { return a - b; }
};
struct Mul {
  template <typename T> TDSEG_HD T operator()(T a, T b) const { return a * b; }
};
struct ReluBackward {  // dx = dy where x > 0
  template <typename T> TDSEG_HD T operator()(T dy, T x) const { return x > T(0) ? dy : T(0); }
};
struct LogBackward {  // dx = dy / x
  template <typename T> TDSEG_HD T operator()(T dy, T x) const { return dy / x; }
};
struct ClampMinBackward {  // dx = dy where x > floor
  double floor;
  template <typename T> TDSEG_HD T operator()(T dy, T x) const { return x > T(floor) ? dy : T(0); }
};

// Every functor, for the CUDA twin's explicit instantiations (X is a macro of one name).
#define TDSEG_UNARY_FUNCTORS(X) X(Scale) X(Divide) X(AddConst) X(Relu) X(Log) X(ClampMin)
#define TDSEG_BINARY_FUNCTORS(X) \
  X(Add) X(Sub) X(Mul) X(ReluBackward) X(LogBackward) X(ClampMinBackward)

}  // namespace tdseg::ops::fn
