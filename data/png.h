// 8-bit PNG files: gray (1 channel) or RGB (3 channels), rows top to bottom, pixel
// (x, y) at pixels[(y * width + x) * channels + channel].
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tdseg {

// Atomic: a temporary file beside `path`, then a rename. A bad size or channel count is
// a ValueError; a file that cannot be written is an IOError naming it.
void write_png(const std::string& path, int64_t width, int64_t height, int channels,
               const std::vector<uint8_t>& pixels);

}  // namespace tdseg
