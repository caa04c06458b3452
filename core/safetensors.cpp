#include "core/safetensors.h"

#include <algorithm>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "core/atomic_file.h"
#include "core/input_file.h"
#include "core/json_error.h"

namespace tdseg {

namespace {

// Ordered, so that a written header lists the tensors in the order they were given.
using Json = nlohmann::ordered_json;
constexpr uint64_t kMaxHeader = 100'000'000;  // the reference implementation's limit

const char* code(DType t) {
  switch (t) {
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
    case DType::Int32: return "I32";
  }
  return "?";
}

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;
};

DType parse_dtype(const Json& j, const std::string& what, const std::string& path) {
  if (!j.is_string()) fail_file(path, what + "dtype " + j.dump() + " is not a string");
  const std::string d = j.get<std::string>();
  for (DType t : {DType::Float32, DType::Float64, DType::Int32})
    if (d == code(t)) return t;
  fail_file(path, what + "unsupported dtype '" + d + "' (tdseg reads F32, F64 and I32)");
}

Entry parse_entry(const std::string& name, const Json& j, const std::string& path) {
  const std::string what = "tensor '" + name + "': ";
  if (!j.is_object() || !j.contains("dtype") || !j.contains("shape") ||
      !j.contains("data_offsets"))
    fail_file(path, what + "needs an object with dtype, shape and data_offsets");
  Entry e{name, parse_dtype(j["dtype"], what, path), {}, 0, 0};
  const Json& shape = j["shape"];
  if (!shape.is_array()) fail_file(path, what + "shape " + shape.dump() + " is not a list of sizes");
  uint64_t bytes = dtype_size(e.dtype);
  for (const Json& d : shape) {
    if (!d.is_number_unsigned())
      fail_file(path, what + "shape " + shape.dump() + " is not a list of sizes");
    const uint64_t n = d.get<uint64_t>();
    if (n > uint64_t(std::numeric_limits<int64_t>::max()) ||
        (n && bytes > std::numeric_limits<uint64_t>::max() / n))
      fail_file(path, what + "shape " + shape.dump() + " is too large");
    e.shape.push_back(static_cast<int64_t>(n));
    bytes *= n;
  }
  const Json& off = j["data_offsets"];
  if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
      !off[1].is_number_unsigned() || off[0].get<uint64_t>() > off[1].get<uint64_t>())
    fail_file(path, what + "data_offsets " + off.dump() + " is not [begin, end] with begin <= end");
  e.begin = off[0].get<uint64_t>();
  e.end = off[1].get<uint64_t>();
  if (e.end - e.begin != bytes)
    fail_file(path, cat(what, "data_offsets ", off.dump(), " hold ", e.end - e.begin, " bytes but ",
                   code(e.dtype), shape_str(e.shape), " needs ", bytes));
  return e;
}

// Parses the header, rejecting a name that appears twice at the top level (a plain parse
// would silently keep the last one).
Json parse_header(const std::string& text, const std::string& path) {
  std::set<std::string> names;
  std::string duplicate;
  Json j;
  try {
    j = Json::parse(text, [&](int depth, Json::parse_event_t event, Json& parsed) {
      if (depth == 1 && event == Json::parse_event_t::key &&
          !names.insert(parsed.get<std::string>()).second && duplicate.empty())
        duplicate = parsed.get<std::string>();
      return true;
    });
  } catch (const Json::parse_error& e) {
    fail_file(path, cat("safetensors header is not valid JSON (error at byte ",
                   std::min<size_t>(e.byte, text.size()), " of ", text.size(), ")"));
  } catch (const Json::exception& e) {  // a number beyond double's range
    fail_file(path, cat("safetensors header is not valid JSON (", json_error(e), ")"));
  }
  if (!j.is_object()) fail_file(path, "safetensors header is not a JSON object");
  if (!duplicate.empty()) fail_file(path, "duplicate tensor name '" + duplicate + "' in the header");
  return j;
}

std::map<std::string, std::string> parse_metadata(const Json& header, const std::string& path) {
  std::map<std::string, std::string> out;
  if (!header.contains("__metadata__")) return out;
  const Json& m = header["__metadata__"];
  if (!m.is_object()) fail_file(path, "__metadata__ is not an object of strings");
  for (const auto& [key, value] : m.items()) {
    if (!value.is_string()) fail_file(path, "__metadata__ entry '" + key + "' is not a string");
    out[key] = value.get<std::string>();
  }
  return out;
}

// Sorts the entries by offset and checks that they tile the data buffer, which is what
// remains of the file after the length and the header.
void check_layout(std::vector<Entry>& entries, uint64_t header_bytes, uint64_t file_bytes,
                  const std::string& path) {
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t at = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (e.begin < at)
      fail_file(path, cat("tensors '", entries[i - 1].name, "' [", entries[i - 1].begin, ", ",
                     entries[i - 1].end, ") and '", e.name, "' [", e.begin, ", ", e.end,
                     ") overlap"));
    if (e.begin > at)
      fail_file(path, cat("bytes [", at, ", ", e.begin, ") of the data buffer belong to no tensor"));
    at = e.end;
  }
  const uint64_t data = file_bytes - 8 - header_bytes;
  if (at > data)
    fail_file(path, cat("truncated: the header describes ", 8 + header_bytes + at,
                   " bytes, the file has ", file_bytes));
  if (at < data) fail_file(path, cat(data - at, " bytes follow the last tensor's data"));
}

uint64_t read_u64le(const unsigned char* b) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | b[i];
  return n;
}

}  // namespace

SafetensorsFile load_safetensors(const std::string& path) {
  std::ifstream f = open_input(path, std::ios::binary | std::ios::ate);
  const uint64_t size = static_cast<uint64_t>(f.tellg());
  f.seekg(0);
  unsigned char len[8];
  if (size < 8 || !f.read(reinterpret_cast<char*>(len), 8))
    fail_file(path, cat("truncated: ", size, " bytes, too short for the 8-byte header length"));
  const uint64_t n = read_u64le(len);
  if (n > kMaxHeader)
    fail_file(path, cat("safetensors header length ", n, " is implausible (over ", kMaxHeader, ")"));
  if (n > size - 8)
    fail_file(path, cat("truncated header: its length is ", n, " bytes, the file has ", size - 8,
                   " after the length"));
  std::string text(n, '\0');
  if (!f.read(text.data(), n)) fail_file(path, "read error in the safetensors header");
  const Json header = parse_header(text, path);

  SafetensorsFile out;
  out.metadata = parse_metadata(header, path);
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.items())
    if (name != "__metadata__") entries.push_back(parse_entry(name, value, path));
  check_layout(entries, n, size, path);
  for (const Entry& e : entries) {
    Tensor t = Tensor::empty(e.shape, e.dtype);
    if (!f.read(static_cast<char*>(t.data_ptr()), e.end - e.begin))
      fail_file(path, "read error in the data of tensor '" + e.name + "'");
    out.tensors.emplace_back(e.name, t);
  }
  return out;
}

void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  Json header = Json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t at = 0;
  for (const auto& [name, t] : tensors) {
    check<ValueError>(name != "__metadata__", path, ": '__metadata__' cannot name a tensor");
    check<ValueError>(!header.contains(name), path, ": duplicate tensor name '", name, "'");
    const uint64_t bytes = t.numel() * dtype_size(t.dtype());
    header[name] = {{"dtype", code(t.dtype())}, {"shape", t.shape()},
                    {"data_offsets", {at, at + bytes}}};
    at += bytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const Json::type_error&) {
    throw ValueError(cat(path, ": a tensor name or metadata string is not valid UTF-8"));
  }
  text += std::string((8 - text.size() % 8) % 8, ' ');

  AtomicFile f(path);
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(text.size() >> (8 * i));
  f.write(len, 8);
  f.write(text);
  for (const auto& [name, t] : tensors) {
    const Tensor c = host_copy(t);  // a GPU tensor (a model trained there) comes over
    f.write(c.data_ptr(), c.numel() * dtype_size(c.dtype()));
  }
  f.commit();
}

bool looks_like_safetensors(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  unsigned char b[9];
  if (!f.read(reinterpret_cast<char*>(b), 9)) return false;
  const uint64_t n = read_u64le(b);
  return n >= 2 && n <= kMaxHeader && b[8] == '{';
}

}  // namespace tdseg
