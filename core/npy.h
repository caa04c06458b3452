// NumPy .npy files (format versions 1.0, 2.0 and 3.0), the tensor exchange format of
// tdseg: little-endian float32 ('<f4'), float64 ('<f8') and int32 ('<i4') arrays in C
// order. Anything else (another dtype, big-endian data, Fortran order, a short or
// malformed header, a truncated payload) is an IOError naming the file and the reason.
#pragma once
#include <string>

#include "core/tensor.h"

namespace tdseg {

Tensor load_npy(const std::string& path);
// Writes version 1.0; atomic: a temporary file beside `path`, then a rename.
void save_npy(const std::string& path, const Tensor& t);

}  // namespace tdseg
