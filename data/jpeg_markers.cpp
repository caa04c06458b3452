#include "data/jpeg_markers.h"

#include <cstring>

#include "core/error.h"

namespace tdseg {

namespace {

[[noreturn]] void truncated(const std::string& path, size_t size) {
  throw IOError(
      cat(path, ": truncated JPEG (ends at byte ", size, " before its end-of-image marker)"));
}

bool is_restart(uint8_t m) { return m >= 0xD0 && m <= 0xD7; }

// The position of the marker that ends the scan starting at `pos`.
size_t skip_scan(const std::vector<uint8_t>& b, size_t pos, const std::string& path) {
  for (;;) {
    const void* ff = std::memchr(&b[0] + pos, 0xFF, b.size() - pos);
    if (!ff) truncated(path, b.size());
    pos = static_cast<const uint8_t*>(ff) - &b[0];
    if (pos + 1 >= b.size()) truncated(path, b.size());
    const uint8_t next = b[pos + 1];
    if (next != 0x00 && next != 0xFF && !is_restart(next)) return pos;
    // A stuffed FF or a restart marker is still scan data; FF FF is fill before a marker.
    pos += next == 0xFF ? 1 : 2;
  }
}

}  // namespace

bool is_jpeg(const std::vector<uint8_t>& bytes) {
  return bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
}

void check_jpeg_complete(const std::vector<uint8_t>& b, const std::string& path) {
  size_t pos = 2;
  for (;;) {
    if (pos >= b.size()) truncated(path, b.size());
    if (b[pos] != 0xFF) throw IOError(cat(path, ": corrupt JPEG (no marker at byte ", pos, ")"));
    while (pos < b.size() && b[pos] == 0xFF) ++pos;
    if (pos >= b.size()) truncated(path, b.size());
    const uint8_t marker = b[pos++];
    if (marker == 0xD9) return;                          // EOI
    if (marker == 0x01 || is_restart(marker)) continue;  // markers without a segment
    if (b.size() - pos < 2) truncated(path, b.size());
    const size_t length = size_t(b[pos]) << 8 | b[pos + 1];
    if (length < 2)
      throw IOError(cat(path, ": corrupt JPEG (segment length ", length, " at byte ", pos, ")"));
    if (length > b.size() - pos) truncated(path, b.size());
    pos += length;
    if (marker == 0xDA) pos = skip_scan(b, pos, path);  // SOS: the scan's data follows
  }
}

}  // namespace tdseg
