// Shapes and strides, in elements. A contiguous NCHW tensor of shape [N, C, H, W] has
// strides [C*H*W, H*W, W, 1]: element (n, c, h, w) sits at n*C*H*W + c*H*W + h*W + w.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tdseg {

using Shape = std::vector<int64_t>;

inline int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

inline Shape contiguous_strides(const Shape& s) {
  Shape st(s.size());
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

// "[2, 3, 5, 7]"
inline std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

}  // namespace tdseg
