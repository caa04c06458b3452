#include "data/png.h"

#include <limits>

#include "core/atomic_file.h"
#include "core/error.h"

// stb's writer, private to this file (static functions), without its unused ones' warnings.
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include "stb_image_write.h"
#pragma GCC diagnostic pop

namespace tdseg {

namespace {

void append(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(context);
  const auto* bytes = static_cast<const uint8_t*>(data);
  out->insert(out->end(), bytes, bytes + size);
}

}  // namespace

void write_png(const std::string& path, int64_t width, int64_t height, int channels,
               const std::vector<uint8_t>& pixels) {
  const int64_t limit = std::numeric_limits<int>::max() / 4;
  check<ValueError>(width > 0 && height > 0 && width <= limit / height, "png: ", path,
                    ": size ", width, "x", height, " must be positive and below 2^29 pixels");
  check<ValueError>(channels == 1 || channels == 3, "png: ", path, ": ", channels,
                    " channels, expected 1 (gray) or 3 (RGB)");
  check<ValueError>(pixels.size() == static_cast<size_t>(width * height * channels), "png: ", path,
                    ": ", pixels.size(), " bytes for ", width, "x", height, "x", channels);
  std::vector<uint8_t> encoded;
  if (!stbi_write_png_to_func(append, &encoded, static_cast<int>(width), static_cast<int>(height),
                              channels, pixels.data(), static_cast<int>(width * channels)))
    fail_file(path, "PNG encoding failed");
  AtomicFile f(path);
  f.write(encoded.data(), encoded.size());
  f.commit();
}

}  // namespace tdseg
