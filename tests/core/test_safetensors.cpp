// safetensors I/O: bit-exact round trips, the reference layout byte for byte, the error
// for each kind of bad file, and the atomic write.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "core/npy.h"
#include "core/safetensors.h"
#include "tests/check_close.h"
#include "tests/temp_file.h"

namespace tdseg::testing {
namespace {

namespace fs = std::filesystem;

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// A file in the reference layout: the length (u64 LE), the header padded with spaces to
// a multiple of 8 bytes, the data.
std::string st_bytes(std::string header, const std::string& data) {
  header += std::string((8 - header.size() % 8) % 8, ' ');
  std::string out;
  for (int i = 0; i < 8; ++i) out += char((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

template <typename T>
std::string raw(std::initializer_list<T> values) {
  std::string out(values.size() * sizeof(T), '\0');
  std::memcpy(out.data(), values.begin(), out.size());
  return out;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::memcmp(a.data_ptr(), b.data_ptr(), a.numel() * dtype_size(a.dtype())) == 0;
}

TEST(Safetensors, RoundTripsBitExactly) {
  Generator gen(3);
  Tensor f32 = Tensor::randn({2, 3, 4, 5}, gen);
  f32.data<float>()[1] = -0.0f;
  f32.data<float>()[2] = std::numeric_limits<float>::quiet_NaN();
  const std::vector<std::pair<std::string, Tensor>> tensors = {
      {"f32", f32},
      {"f64", Tensor::randn({7}, gen, DType::Float64)},
      {"labels", Tensor::from_vector<int32_t>({2, 2}, {0, 255, -3, 20})},
      {"scalar", Tensor::full({}, 3.5, DType::Float64)},
      {"empty", Tensor::zeros({0, 3})}};
  const std::string path = temp_path("roundtrip.safetensors");
  save_safetensors(path, tensors, {{"epoch", "3"}, {"model", "tiny"}});
  const SafetensorsFile back = load_safetensors(path);
  ASSERT_EQ(back.tensors.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(back.tensors[i].first, tensors[i].first);
    EXPECT_TRUE(same_bits(back.tensors[i].second, tensors[i].second)) << tensors[i].first;
  }
  EXPECT_EQ(back.metadata, (std::map<std::string, std::string>{{"epoch", "3"}, {"model", "tiny"}}));
}

TEST(Safetensors, WritesTheReferenceLayout) {
  const std::string path = temp_path("layout.safetensors");
  save_safetensors(path, {{"w", Tensor::from_vector<float>({2}, {1.f, 2.f})}}, {{"k", "v"}});
  const std::string header =
      R"({"__metadata__":{"k":"v"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  EXPECT_EQ(read_bytes(path), st_bytes(header, raw<float>({1.f, 2.f})));
  EXPECT_EQ(read_bytes(path).size() % 8, 0u);
}

TEST(Safetensors, ReadsAHandWrittenFileInDataOrder) {
  // The header lists "a" first, but "b"'s data comes first: file order is data order.
  const std::string path = temp_path("hand.safetensors");
  write_bytes(path, st_bytes(R"({"a":{"dtype":"F64","shape":[1,2],"data_offsets":[8,24]},)"
                             R"("b":{"dtype":"I32","shape":[2],"data_offsets":[0,8]},)"
                             R"("__metadata__":{"format":"pt"}})",
                             raw<int32_t>({7, -1}) + raw<double>({1.5, -2.0})));
  const SafetensorsFile f = load_safetensors(path);
  ASSERT_EQ(f.tensors.size(), 2u);
  EXPECT_EQ(f.tensors[0].first, "b");
  EXPECT_TRUE(same_bits(f.tensors[0].second, Tensor::from_vector<int32_t>({2}, {7, -1})));
  EXPECT_EQ(f.tensors[1].first, "a");
  EXPECT_TRUE(same_bits(f.tensors[1].second, Tensor::from_vector<double>({1, 2}, {1.5, -2.0})));
  EXPECT_EQ(f.metadata.at("format"), "pt");
}

TEST(Safetensors, RecognisedByContent) {
  const std::string st = temp_path("content.ckpt"), npy = temp_path("content.npy");
  save_safetensors(st, {{"w", Tensor::ones({3})}});
  save_npy(npy, Tensor::ones({3}));
  EXPECT_TRUE(looks_like_safetensors(st));
  EXPECT_FALSE(looks_like_safetensors(npy));
  write_bytes(st, read_bytes(st).substr(0, 12));  // a truncated header still looks like one
  EXPECT_TRUE(looks_like_safetensors(st));
  write_bytes(st, "garbage, not a tensor file");
  EXPECT_FALSE(looks_like_safetensors(st));
  EXPECT_FALSE(looks_like_safetensors(temp_path("missing.ckpt")));
}

TEST(SafetensorsErrors, EachBadFileSaysWhy) {
  const std::string path = temp_path("bad.safetensors");
  const std::string w8 = R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  const std::string good = st_bytes("{" + w8 + "}", raw<float>({1.f, 2.f}));
  const auto z = [](size_t n) { return std::string(n, '\0'); };
  const std::pair<std::string, std::string> cases[] = {
      {"short", "truncated: 5 bytes, too short for the 8-byte header length"},
      {std::string(8, '\xff') + "{}", "safetensors header length 18446744073709551615 is "
                                      "implausible (over 100000000)"},
      {std::string("\x64\0\0\0\0\0\0\0{}", 10),
       "truncated header: its length is 100 bytes, the file has 2 after the length"},
      {st_bytes(R"({"w": )", ""), "safetensors header is not valid JSON (error at byte 8 of 8)"},
      {st_bytes(R"({"w": 1e400})", ""),
       "safetensors header is not valid JSON (number overflow parsing '1e400')"},
      {st_bytes("[1, 2]", ""), "safetensors header is not a JSON object"},
      {st_bytes(R"({"w":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}})", z(4)),
       "tensor 'w': unsupported dtype 'BF16' (tdseg reads F32, F64 and I32)"},
      {st_bytes(R"({"w\n":{"dtype":"F16\u0000","shape":[2],"data_offsets":[0,4]}})", z(4)),
       "tensor 'w\\x0A': unsupported dtype 'F16\\x00' (tdseg"},  // escaped: one line
      {st_bytes(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})", z(12)),
       "tensor 'w': data_offsets [0,12] hold 12 bytes but F32[2, 2] needs 16"},
      {st_bytes(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", z(8)),
       "tensor 'w': shape [-2] is not a list of sizes"},
      {st_bytes(R"({"w":{"dtype":"F32","shape":[2]}})", ""),
       "tensor 'w': needs an object with dtype, shape and data_offsets"},
      {st_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", z(8)),
       "tensor 'w': data_offsets [8,4] is not [begin, end] with begin <= end"},
      {st_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", z(12)),
       "tensors 'a' [0, 8) and 'b' [4, 12) overlap"},
      {st_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", z(12)),
       "bytes [4, 8) of the data buffer belong to no tensor"},
      {good.substr(0, good.size() - 3),
       "truncated: the header describes 72 bytes, the file has 69"},
      {good + "junk", "4 bytes follow the last tensor's data"},
      {st_bytes("{" + w8 + "," + w8 + "}", raw<float>({1.f, 2.f})),
       "duplicate tensor name 'w' in the header"},
      {st_bytes(R"({"__metadata__":{"epoch":3}})", ""),
       "__metadata__ entry 'epoch' is not a string"},
  };
  for (const auto& [bytes, reason] : cases) {
    write_bytes(path, bytes);
    EXPECT_THROW_MSG(load_safetensors(path), IOError, path + ": " + reason);
  }
  EXPECT_THROW_MSG(load_safetensors(temp_path("missing.safetensors")), IOError,
                   "missing.safetensors: cannot open");
}

TEST(SafetensorsErrors, SaveRejectsBadNames) {
  const std::string path = temp_path("names.safetensors");
  const Tensor t = Tensor::zeros({1});
  EXPECT_THROW_MSG(save_safetensors(path, {{"w", t}, {"w", t}}), ValueError,
                   path + ": duplicate tensor name 'w'");
  EXPECT_THROW_MSG(save_safetensors(path, {{"__metadata__", t}}), ValueError,
                   path + ": '__metadata__' cannot name a tensor");
}

TEST(Safetensors, AtomicWriteLeavesNoTemporary) {
  const std::string path = temp_path("atomic.safetensors");
  save_safetensors(path, {{"w", Tensor::ones({3})}});
  save_safetensors(path, {{"w", Tensor::zeros({2})}});  // replaces the file
  EXPECT_EQ(load_safetensors(path).tensors[0].second.shape(), Shape{2});
  EXPECT_FALSE(fs::exists(path + ".tmp"));

  // The rename fails (a directory is in the way): the temporary goes too.
  const std::string blocked = temp_path("blocked.safetensors");
  fs::remove_all(blocked);
  fs::create_directory(blocked);
  EXPECT_THROW_MSG(save_safetensors(blocked, {{"w", Tensor::ones({3})}}), IOError,
                   blocked + ": cannot rename the temporary file");
  EXPECT_FALSE(fs::exists(blocked + ".tmp"));
  fs::remove_all(blocked);

  const std::string nowhere = temp_path("no/such/dir/x.safetensors");
  EXPECT_THROW_MSG(save_safetensors(nowhere, {{"w", Tensor::ones({3})}}), IOError,
                   nowhere + ": cannot write: No such file or directory");
}

}  // namespace
}  // namespace tdseg::testing
