// Element types. float32 does the real work, float64 serves the gradient checks and
// int32 holds label maps (class indices, 255 = ignore).
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/error.h"

namespace tdseg {

enum class DType : uint8_t { Float32, Float64, Int32 };

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Int32: return 4;
  }
  return 0;
}

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int32: return "int32";
  }
  return "?";
}

inline bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }

template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::Float32; }
template <> constexpr DType dtype_of<double>() { return DType::Float64; }
template <> constexpr DType dtype_of<int32_t>() { return DType::Int32; }

// Calls fn(T{}) with T = float or double for a floating dtype; `op` names the caller.
template <typename Fn>
decltype(auto) dispatch_floating(DType t, const char* op, Fn&& fn) {
  switch (t) {
    case DType::Float32: return fn(float{});
    case DType::Float64: return fn(double{});
    default: throw DTypeError(cat(op, ": expected float32 or float64, got ", dtype_name(t)));
  }
}

// Calls fn(T{}) with T = float, double or int32_t: every dtype (copies, casts, fills).
template <typename Fn>
void dispatch_all(DType t, Fn&& fn) {
  switch (t) {
    case DType::Float32: fn(float{}); break;
    case DType::Float64: fn(double{}); break;
    case DType::Int32: fn(int32_t{}); break;
  }
}

}  // namespace tdseg
