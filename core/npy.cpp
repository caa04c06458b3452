// Layout of a .npy file:
//   magic "\x93NUMPY", major, minor (1 byte each), header length (uint16 LE for 1.0,
//   uint32 LE for 2.0/3.0), header: a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with spaces and a
//   final '\n' so that the data starts at a multiple of 64 bytes; then the raw data.
#include "core/npy.h"

#include <charconv>
#include <cstring>
#include <fstream>
#include <limits>
#include <regex>

#include "core/atomic_file.h"
#include "core/input_file.h"

namespace tdseg {

namespace {

std::string field(const std::string& header, const std::string& key, const std::string& path) {
  // 'key': value   where value is a quoted string, True/False or a (tuple)
  std::regex re("['\"]" + key + "['\"]\\s*:\\s*('[^']*'|\"[^\"]*\"|True|False|\\([^)]*\\))");
  std::smatch m;
  if (!std::regex_search(header, m, re)) fail_file(path, "npy header has no '" + key + "' entry");
  return m[1];
}

DType parse_descr(std::string d, const std::string& path) {
  d = d.substr(1, d.size() - 2);  // strip quotes
  if (d == "<f4") return DType::Float32;
  if (d == "<f8") return DType::Float64;
  if (d == "<i4") return DType::Int32;
  fail_file(path, "unsupported npy dtype '" + d + "' (tdseg reads <f4, <f8 and <i4)");
}

// The sizes of a shape tuple such as (2, 3) or (7,). `bytes`: the element size in, the
// array's size out; each size must fit int64 and their product with the element size 64
// bits, checked before anything is allocated.
Shape parse_shape(const std::string& tuple, uint64_t& bytes, const std::string& path) {
  Shape s;
  std::regex num("\\s*(\\d+)\\s*(,|$)");
  std::string inner = tuple.substr(1, tuple.size() - 2);
  auto it = std::sregex_iterator(inner.begin(), inner.end(), num);
  size_t consumed = 0;
  for (; it != std::sregex_iterator(); ++it) {
    if (static_cast<size_t>(it->position()) != consumed) break;
    const std::string digits = (*it)[1];
    uint64_t n = 0;
    const auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (err != std::errc() || n > uint64_t(std::numeric_limits<int64_t>::max()) ||
        (n && bytes > std::numeric_limits<uint64_t>::max() / n))
      fail_file(path, "npy shape " + tuple + " is too large");
    bytes *= n;
    s.push_back(static_cast<int64_t>(n));
    consumed += it->length();
  }
  if (inner.find_first_not_of(" ", consumed) != std::string::npos)
    fail_file(path, "malformed npy shape " + tuple);
  return s;
}

}  // namespace

Tensor load_npy(const std::string& path) {
  std::ifstream f = open_input(path, std::ios::binary | std::ios::ate);
  const uint64_t size = static_cast<uint64_t>(f.tellg());
  f.seekg(0);
  unsigned char pre[8];
  if (!f.read(reinterpret_cast<char*>(pre), 8) || std::memcmp(pre, "\x93NUMPY", 6) != 0)
    fail_file(path, "not a .npy file (bad magic)");
  const int major = pre[6];
  if (major < 1 || major > 3) fail_file(path, cat("unsupported npy format version ", major, ".", int(pre[7])));
  uint32_t hlen = 0;
  if (major == 1) {
    unsigned char b[2];
    if (!f.read(reinterpret_cast<char*>(b), 2)) fail_file(path, "truncated npy header");
    hlen = b[0] | (b[1] << 8);
  } else {
    unsigned char b[4];
    if (!f.read(reinterpret_cast<char*>(b), 4)) fail_file(path, "truncated npy header");
    hlen = b[0] | (b[1] << 8) | (b[2] << 16) | (uint32_t(b[3]) << 24);
  }
  if (hlen > (1u << 20)) fail_file(path, cat("npy header length ", hlen, " is implausible"));
  std::string header(hlen, '\0');
  if (!f.read(header.data(), hlen)) fail_file(path, "truncated npy header");
  const DType dtype = parse_descr(field(header, "descr", path), path);
  if (field(header, "fortran_order", path) == "True")
    fail_file(path, "Fortran-order arrays are not supported; save with np.ascontiguousarray");
  uint64_t bytes = dtype_size(dtype);
  const Shape shape = parse_shape(field(header, "shape", path), bytes, path);
  // The payload is the rest of the file, exactly: checked before it is allocated.
  const uint64_t payload = size - static_cast<uint64_t>(f.tellg());
  if (payload < bytes)
    fail_file(path, cat("truncated npy data: ", shape_str(shape), " ", dtype_name(dtype), " needs ",
                   bytes, " bytes, the file has ", payload));
  if (payload > bytes)
    fail_file(path, cat(payload - bytes, " bytes follow the npy data (", shape_str(shape), " ",
                   dtype_name(dtype), ", ", bytes, " bytes)"));
  Tensor t = Tensor::empty(shape, dtype);
  if (!f.read(static_cast<char*>(t.data_ptr()), bytes)) fail_file(path, "read error in the npy data");
  return t;
}

void save_npy(const std::string& path, const Tensor& t) {
  const char* descr = t.dtype() == DType::Float32 ? "<f4" : t.dtype() == DType::Float64 ? "<f8" : "<i4";
  std::string shape = "(";
  for (int64_t d : t.shape()) shape += std::to_string(d) + ",";
  if (t.dim() > 1) shape.pop_back();  // (3,) keeps its comma, (2,3) does not end with one
  shape += ")";
  std::string header =
      cat("{'descr': '", descr, "', 'fortran_order': False, 'shape': ", shape, ", }");
  const size_t total = 10 + header.size() + 1;
  header += std::string((64 - total % 64) % 64, ' ') + "\n";
  AtomicFile f(path);
  const uint16_t hlen = static_cast<uint16_t>(header.size());
  const unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                 static_cast<unsigned char>(hlen & 0xff),
                                 static_cast<unsigned char>(hlen >> 8)};
  f.write(pre, 10);
  f.write(header);
  const Tensor c = host_copy(t);
  f.write(c.data_ptr(), c.numel() * dtype_size(c.dtype()));
  f.commit();
}

}  // namespace tdseg
