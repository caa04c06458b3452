// .npy I/O: round trips of every supported dtype, headers of versions 1 and 2, and the
// error for each kind of bad file.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "core/npy.h"
#include "tests/check_close.h"
#include "tests/temp_file.h"

namespace tdseg::testing {
namespace {

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// A version-`major` npy file with the given header dict and payload.
std::string npy_bytes(int major, std::string dict, const std::string& payload) {
  const size_t pre = major == 1 ? 10 : 12;
  dict += std::string((64 - (pre + dict.size() + 1) % 64) % 64, ' ') + "\n";
  std::string out = std::string("\x93NUMPY", 6) + char(major) + char(0);
  const uint32_t n = static_cast<uint32_t>(dict.size());
  out += char(n & 0xff);
  out += char((n >> 8) & 0xff);
  if (major > 1) out += std::string{char((n >> 16) & 0xff), char(n >> 24)};
  return out + dict + payload;
}

TEST(Npy, RoundTripsEveryDtype) {
  Generator gen(1);
  const Tensor cases[] = {Tensor::randn({2, 3, 4, 5}, gen), Tensor::randn({7}, gen, DType::Float64),
                          Tensor::from_vector<int32_t>({2, 2}, {0, 255, -3, 20}),
                          Tensor::full({}, 3.5, DType::Float64)};
  for (const Tensor& t : cases) {
    const std::string path = temp_path("roundtrip.npy");
    save_npy(path, t);
    Tensor back = load_npy(path);
    EXPECT_EQ(back.dtype(), t.dtype());
    EXPECT_EQ(back.shape(), t.shape());
    EXPECT_TRUE(all_close(back, t, 0, 0));
  }
}

TEST(Npy, ReadsVersion2Headers) {
  const float v[3] = {1.5f, -2.f, 8.f};
  const std::string path = temp_path("v2.npy");
  write_bytes(path, npy_bytes(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
                              std::string(reinterpret_cast<const char*>(v), 12)));
  Tensor t = load_npy(path);
  EXPECT_EQ(t.shape(), Shape{3});
  EXPECT_EQ(t.data<float>()[2], 8.f);
}

TEST(NpyErrors, EachBadFileSaysWhy) {
  const std::string path = temp_path("bad.npy");
  write_bytes(path, "not a numpy file at all");
  EXPECT_THROW_MSG(load_npy(path), IOError, "not a .npy file (bad magic)");
  write_bytes(path, npy_bytes(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", std::string(8, '\0')));
  EXPECT_THROW_MSG(load_npy(path), IOError, "unsupported npy dtype '<i8'");
  write_bytes(path, npy_bytes(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", std::string(4, '\0')));
  EXPECT_THROW_MSG(load_npy(path), IOError, "unsupported npy dtype '>f4'");
  write_bytes(path, npy_bytes(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", std::string(16, '\0')));
  EXPECT_THROW_MSG(load_npy(path), IOError, "Fortran-order arrays are not supported");
  write_bytes(path, npy_bytes(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (4, 3), }", std::string(40, '\0')));
  EXPECT_THROW_MSG(load_npy(path), IOError, "truncated npy data: [4, 3] float64 needs 96 bytes, the file has 40");
  // Sizes are checked against the file before anything is allocated: 4 TiB asked for.
  write_bytes(path, npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }", std::string(4, '\0')));
  EXPECT_THROW_MSG(load_npy(path), IOError, "truncated npy data: [1099511627776] float32 needs 4398046511104 bytes, the file has 4");
  write_bytes(path, npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", ""));
  EXPECT_THROW_MSG(load_npy(path), IOError, "npy shape (4294967296, 4294967296) is too large");
  write_bytes(path, npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", ""));
  EXPECT_THROW_MSG(load_npy(path), IOError, "npy shape (99999999999999999999,) is too large");
  write_bytes(path, npy_bytes(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", std::string(11, '\0')));
  EXPECT_THROW_MSG(load_npy(path), IOError, "3 bytes follow the npy data ([2] int32, 8 bytes)");
  write_bytes(path, std::string("\x93NUMPY\x01\x00\x40", 9));
  EXPECT_THROW_MSG(load_npy(path), IOError, "truncated npy header");
  write_bytes(path, npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", ""));
  EXPECT_THROW_MSG(load_npy(path), IOError, "malformed npy shape (2, x)");
  // Header text quoted in a message is escaped: one line, whatever the file holds.
  write_bytes(path, npy_bytes(1, "{'descr': '<f\n4', 'fortran_order': False, 'shape': (1,), }", std::string(4, '\0')));
  EXPECT_THROW_MSG(load_npy(path), IOError, "unsupported npy dtype '<f\\x0A4' (tdseg");
  write_bytes(path, npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, \x01), }", ""));
  EXPECT_THROW_MSG(load_npy(path), IOError, "malformed npy shape (2, \\x01)");
  EXPECT_THROW_MSG(load_npy(temp_path("missing.npy")), IOError, "missing.npy: cannot open");
}

}  // namespace
}  // namespace tdseg::testing
