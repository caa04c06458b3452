#include "data/jpeg_markers.h"

#include <algorithm>
#include <cstring>
#include <vector>

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

// What stb_image's decoder reads that the file must have given it first. Its state is
// malloc'ed: a Huffman table that no DHT segment defined is read from uninitialised memory
// and indexed with what is found there, and a component that no scan decodes comes out
// as uninitialised pixels. So a scan that uses an undefined table, or a frame component
// that no scan starts, is an error here, before stb_image sees the file. And stb_image
// reads zeros where a scan's data runs out, so a scan too short for the blocks it codes
// (an 800-byte file claiming 4105 x 11783 pixels) would decode into a large grey image.
struct Decoding {
  struct Component {
    int id, h, v;  // sampling factors
  };
  bool defined[2][4] = {};   // Huffman tables by class (0 DC, 1 AC) and id
  bool progressive = false;  // an SOF2 frame; stb_image decodes SOF0, SOF1 and SOF2
  int64_t height = 0, width = 0;
  int hmax = 0, vmax = 0;  // the largest sampling factors
  std::vector<Component> components;
  bool started[256] = {};

  // A DHT segment's data: tables of a class/id byte, 16 code counts and their values.
  void define_tables(const uint8_t* d, size_t n, const std::string& path) {
    for (size_t at = 0; at < n;) {
      const int cls = d[at] >> 4, id = d[at] & 15;
      size_t values = 0;
      for (int k = 1; k <= 16 && at + k < n; ++k) values += d[at + k];
      if (cls > 1 || id > 3 || n - at < 17 + values)
        throw IOError(cat(path, ": corrupt JPEG (malformed Huffman table segment)"));
      defined[cls][id] = true;
      at += 17 + values;
    }
  }

  // An SOF segment's data: precision, height, width, Nf, each component's id, sampling
  // and quantisation table. stb_image rejects a header of another length itself.
  void frame(uint8_t marker, const uint8_t* d, size_t n) {
    progressive = marker == 0xC2;
    components.clear();
    if (n < 6 || n != 6 + 3 * size_t(d[5])) return;
    height = d[1] << 8 | d[2];
    width = d[3] << 8 | d[4];
    for (const uint8_t* c = d + 6; c < d + n; c += 3) components.push_back({c[0], c[1] >> 4, c[1] & 15});
    hmax = vmax = 0;
    for (const Component& c : components) hmax = std::max(hmax, c.h), vmax = std::max(vmax, c.v);
  }

  // The 8 x 8 blocks of the component `id` (T.81, A.1.1: its size is the image's scaled
  // by its sampling factors over the largest ones); 0 where the frame says nothing valid.
  int64_t blocks(int id) const {
    for (const Component& c : components)
      if (c.id == id && c.h > 0 && c.v > 0)
        return (ceil_div(width * c.h, hmax) + 7) / 8 * ((ceil_div(height * c.v, vmax) + 7) / 8);
    return 0;
  }
  static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

  // An SOS segment's header: Ns, each component's id and DC/AC table ids, Ss, Se, Ah/Al.
  // A baseline scan decodes whole blocks with both tables. A progressive one starts its
  // components' blocks (zeroed, then their DC coefficient) with the DC tables when it is
  // a first DC scan (Ss = 0, Ah = 0; a refinement reads raw bits), and refines their AC
  // coefficients with the AC tables when Ss > 0.
  // Returns the bits its data must hold at least: a scan with DC coefficients (Ss = 0)
  // codes at least one bit a block of each of its components (a Huffman code, or a
  // refinement's raw bit); AC scans may skip any number of blocks with one end-of-band run.
  int64_t scan(const uint8_t* d, size_t n, const std::string& path) {
    if (n < 1 || n != 4 + 2 * size_t(d[0])) return 0;
    const int ss = d[n - 3], ah = d[n - 1] >> 4;
    const bool uses_dc = !progressive || (ss == 0 && ah == 0), uses_ac = !progressive || ss > 0;
    for (size_t c = 0; c < d[0]; ++c) {
      const int dc = d[2 + 2 * c] >> 4, ac = d[2 + 2 * c] & 15;
      const bool bad_dc = uses_dc && (dc > 3 || !defined[0][dc]);
      if (bad_dc || (uses_ac && (ac > 3 || !defined[1][ac])))
        throw IOError(cat(path, ": corrupt JPEG (a scan uses Huffman table ", bad_dc ? "DC " : "AC ",
                          bad_dc ? dc : ac, ", which no earlier segment defines)"));
      if (uses_dc) started[d[1 + 2 * c]] = true;
    }
    int64_t bits = 0;
    for (size_t c = 0; c < d[0] && ss == 0; ++c) bits += blocks(d[1 + 2 * c]);
    return bits;
  }

  // At the end of the image.
  void check_complete(const std::string& path) const {
    for (const Component& c : components)
      if (!started[c.id])
        throw IOError(cat(path, ": corrupt JPEG (component ", c.id, " of the frame is in no ",
                          progressive ? "first DC scan" : "scan", ")"));
  }
};

}  // namespace

bool is_jpeg(const std::vector<uint8_t>& bytes) {
  return bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
}

void check_jpeg_complete(const std::vector<uint8_t>& b, const std::string& path) {
  size_t pos = 2;
  Decoding decoding;
  for (;;) {
    if (pos >= b.size()) truncated(path, b.size());
    if (b[pos] != 0xFF) throw IOError(cat(path, ": corrupt JPEG (no marker at byte ", pos, ")"));
    while (pos < b.size() && b[pos] == 0xFF) ++pos;
    if (pos >= b.size()) truncated(path, b.size());
    const uint8_t marker = b[pos++];
    if (marker == 0xD9) return decoding.check_complete(path);  // EOI
    if (marker == 0x01 || is_restart(marker)) continue;  // markers without a segment
    if (b.size() - pos < 2) truncated(path, b.size());
    const size_t length = size_t(b[pos]) << 8 | b[pos + 1];
    if (length < 2)
      throw IOError(cat(path, ": corrupt JPEG (segment length ", length, " at byte ", pos, ")"));
    if (length > b.size() - pos) truncated(path, b.size());
    const uint8_t* data = b.data() + pos + 2;
    if (marker >= 0xC0 && marker <= 0xC2) decoding.frame(marker, data, length - 2);
    if (marker == 0xC4) decoding.define_tables(data, length - 2, path);
    pos += length;
    if (marker == 0xDA) {  // SOS: the scan's data follows
      const int64_t bits = decoding.scan(data, length - 2, path);
      const size_t start = pos;
      pos = skip_scan(b, start, path);
      if (int64_t(pos - start) * 8 < bits)
        throw IOError(cat(path, ": corrupt JPEG (the scan at byte ", start, " has ", pos - start,
                          " bytes of data, too few for the ", bits, " blocks it codes)"));
    }
  }
}

}  // namespace tdseg
