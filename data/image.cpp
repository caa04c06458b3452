#include "data/image.h"

#include <climits>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <unordered_map>

#include "core/error.h"
#include "core/input_file.h"
#include "data/jpeg_markers.h"
#include "data/png_chunks.h"

// The one stb_image implementation of the link, for the formats tdseg reads.
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include "stb_image.h"
#pragma GCC diagnostic pop

namespace tdseg {

namespace {

struct Pixels {
  std::unique_ptr<uint8_t, void (*)(void*)> data{nullptr, stbi_image_free};
  int64_t width = 0, height = 0;
};

// stb_image would decode part of a truncated file: check it is whole first.
void check_whole(const std::vector<uint8_t>& bytes, const std::string& path) {
  if (is_png(bytes)) {
    read_png_info(bytes, path);
  } else if (is_jpeg(bytes)) {
    check_jpeg_complete(bytes, path);
  } else {
    fail_file(path, bytes.empty() ? "not an image (empty file)"
                             : "not a PNG or JPEG image (unknown signature)");
  }
}

// A whole file's pixels, `channels` per pixel.
Pixels decode(const std::vector<uint8_t>& bytes, const std::string& path, int channels) {
  if (bytes.size() > INT_MAX) fail_file(path, cat("too large to decode (", bytes.size(), " bytes)"));
  int w = 0, h = 0, n = 0;
  Pixels p;
  p.data.reset(
      stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &n, channels));
  if (!p.data) fail_file(path, cat("corrupt image (stb_image: ", stbi_failure_reason(), ")"));
  p.width = w;
  p.height = h;
  return p;
}

// Palette colour -> index, with -1 for a colour that several entries share.
std::unordered_map<uint32_t, int32_t> colour_to_index(const PngInfo& info) {
  std::unordered_map<uint32_t, int32_t> index;
  for (size_t k = 0; k < info.palette.size(); ++k) {
    const auto& c = info.palette[k];
    const uint32_t key = uint32_t(c[0]) << 16 | uint32_t(c[1]) << 8 | c[2];
    auto [it, fresh] = index.emplace(key, static_cast<int32_t>(k));
    if (!fresh) it->second = -1;
  }
  return index;
}

Tensor palette_indices(const Pixels& p, const PngInfo& info, const std::string& path) {
  const auto index = colour_to_index(info);
  Tensor mask = Tensor::empty({p.height, p.width}, DType::Int32);
  int32_t* out = mask.data<int32_t>();
  uint32_t last_key = UINT32_MAX;  // runs of one colour are the common case
  int32_t last = -1;
  for (int64_t k = 0; k < p.height * p.width; ++k) {
    const uint8_t* c = p.data.get() + 3 * k;
    const uint32_t key = uint32_t(c[0]) << 16 | uint32_t(c[1]) << 8 | c[2];
    if (key != last_key) {
      const auto it = index.find(key);
      const std::string where = cat("colour (", int(c[0]), ", ", int(c[1]), ", ", int(c[2]),
                                    ") at (", k % p.width, ", ", k / p.width, ")");
      if (it == index.end())
        fail_file(path, cat("corrupt palette PNG: ", where, " is not in its palette"));
      if (it->second < 0)
        fail_file(path, cat("ambiguous palette PNG: ", where, " belongs to several palette entries"));
      last_key = key;
      last = it->second;
    }
    out[k] = last;
  }
  return mask;
}

}  // namespace

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f = open_input(path, std::ios::binary | std::ios::ate);
  const std::streamoff size = f.tellg();
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  f.seekg(0);
  if (!f.read(reinterpret_cast<char*>(bytes.data()), size)) fail_file(path, "read failed");
  return bytes;
}

Tensor read_image(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(path);
  check_whole(bytes, path);
  const Pixels p = decode(bytes, path, 3);
  const int64_t plane = p.height * p.width;
  Tensor image = Tensor::empty({3, p.height, p.width});
  float* out = image.data<float>();
  for (int64_t k = 0; k < plane; ++k)
    for (int64_t c = 0; c < 3; ++c) out[c * plane + k] = p.data.get()[3 * k + c];
  return image;
}

Tensor read_mask(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(path);
  if (!is_png(bytes)) fail_file(path, "a mask must be a PNG (gray or palette indices)");
  const PngInfo info = read_png_info(bytes, path);  // also checks the file is whole
  if (info.color_type == kPngPalette) return palette_indices(decode(bytes, path, 3), info, path);
  if (info.color_type != kPngGray)
    fail_file(path, cat("a mask must be gray or palette indices, not PNG colour type ", info.color_type,
                   info.color_type == 2   ? " (RGB)"
                   : info.color_type == 4 ? " (gray+alpha)"
                                          : " (RGBA)"));
  if (info.bit_depth == 16) fail_file(path, "16-bit gray masks are not supported (expected 8 bits)");
  const Pixels p = decode(bytes, path, 1);
  // stb_image stretches 1, 2 and 4-bit gray to [0, 255]; undo it to get the stored values.
  const int scale = 255 / ((1 << info.bit_depth) - 1);
  Tensor mask = Tensor::empty({p.height, p.width}, DType::Int32);
  int32_t* out = mask.data<int32_t>();
  for (int64_t k = 0; k < p.height * p.width; ++k) out[k] = p.data.get()[k] / scale;
  return mask;
}

}  // namespace tdseg
