#include "data/png_chunks.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace tdseg {

namespace {

constexpr uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

uint32_t be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

void parse_ihdr(const uint8_t* d, uint32_t length, PngInfo& info, const std::string& path) {
  if (length != 13) fail_file(path, cat("corrupt PNG (IHDR of ", length, " bytes, expected 13)"));
  info.width = be32(d);
  info.height = be32(d + 4);
  info.bit_depth = d[8];
  info.color_type = d[9];
  if (info.width == 0 || info.height == 0)
    fail_file(path, cat("corrupt PNG (size ", info.width, "x", info.height, ")"));
}

}  // namespace

uint32_t crc32(const uint8_t* data, size_t n, uint32_t crc) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) crc = table[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

bool is_png(const std::vector<uint8_t>& bytes) {
  return bytes.size() >= 8 && std::memcmp(bytes.data(), kSignature, 8) == 0;
}

PngInfo read_png_info(const std::vector<uint8_t>& bytes, const std::string& path) {
  if (!is_png(bytes)) fail_file(path, "not a PNG file (bad signature)");
  PngInfo info;
  size_t pos = 8;
  bool first = true;
  for (;;) {
    if (bytes.size() - pos < 12)  // length, type and CRC at least
      fail_file(path, cat("truncated PNG (ends at byte ", bytes.size(), " before the IEND chunk)"));
    const uint32_t length = be32(&bytes[pos]);
    const std::string type(reinterpret_cast<const char*>(&bytes[pos + 4]), 4);
    const auto letter = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); };
    if (!std::all_of(type.begin(), type.end(), letter))
      fail_file(path, cat("corrupt PNG (chunk type '", type, "' at byte ", pos,
                          " is not 4 letters)"));
    if (length > bytes.size() - pos - 12)
      fail_file(path, cat("truncated PNG (chunk ", type, " of ", length, " bytes at byte ", pos,
                     " ends past the end of the file, ", bytes.size(), " bytes)"));
    const uint8_t* data = &bytes[pos + 8];
    if (crc32(&bytes[pos + 4], length + 4) != be32(data + length))
      fail_file(path, cat("corrupt PNG (CRC mismatch in chunk ", type, " at byte ", pos, ")"));
    if (first && type != "IHDR") fail_file(path, cat("corrupt PNG (first chunk ", type, ", not IHDR)"));
    first = false;
    if (type == "IHDR") parse_ihdr(data, length, info, path);
    if (type == "PLTE") {
      if (length % 3 != 0 || length == 0 || length > 768)
        fail_file(path, cat("corrupt PNG (PLTE of ", length, " bytes)"));
      for (uint32_t k = 0; k < length; k += 3)
        info.palette.push_back({data[k], data[k + 1], data[k + 2]});
    }
    if (type == "IEND") return info;
    pos += 12 + length;
  }
}

}  // namespace tdseg
