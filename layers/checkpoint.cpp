#include "layers/checkpoint.h"

#include <unordered_map>

#include "core/device_memory.h"
#include "core/safetensors.h"

namespace tdseg {

namespace {

constexpr size_t kListed = 4;  // names shown per list in a summary

std::string describe(const Tensor& t) { return dtype_name(t.dtype()) + shape_str(t.shape()); }

Module::Named state_of(const Module& m) {
  Module::Named all = m.named_parameters();
  for (auto& named : m.named_buffers()) all.push_back(std::move(named));
  return all;
}

template <typename T, typename Fn>
std::string listed(const char* what, const std::vector<T>& items, Fn&& show) {
  std::string out = cat(items.size(), " ", what, " (");
  for (size_t i = 0; i < items.size() && i < kListed; ++i) out += (i ? ", " : "") + show(items[i]);
  if (items.size() > kListed) out += cat(", ... and ", items.size() - kListed, " more");
  return out + ")";
}

}  // namespace

std::string LoadReport::summary() const {
  std::vector<std::string> parts;
  auto name = [](const std::string& n) { return n; };
  if (!missing.empty()) parts.push_back(listed("missing", missing, name));
  if (!unexpected.empty()) parts.push_back(listed("unexpected", unexpected, name));
  if (!mismatched.empty())
    parts.push_back(listed("mismatched", mismatched, [](const Mismatch& m) {
      return cat(m.name, ": file ", m.file, ", model ", m.model);
    }));
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

void save_checkpoint(const std::string& path, const Module& m,
                     const std::map<std::string, std::string>& metadata) {
  save_safetensors(path, state_of(m), metadata);
}

LoadReport load_checkpoint(const std::string& path, Module& m, LoadMode mode) {
  const SafetensorsFile file = load_safetensors(path);
  std::unordered_map<std::string, const Tensor*> in_file;
  for (const auto& [name, t] : file.tensors) in_file.emplace(name, &t);

  LoadReport report;
  std::vector<std::pair<Tensor, const Tensor*>> copies;  // (module tensor, file tensor)
  for (const auto& [name, t] : state_of(m)) {
    const auto it = in_file.find(name);
    if (it == in_file.end()) {
      report.missing.push_back(name);
      continue;
    }
    const Tensor& src = *it->second;
    in_file.erase(it);
    if (src.dtype() != t.dtype() || src.shape() != t.shape()) {
      report.mismatched.push_back({name, describe(src), describe(t)});
      continue;
    }
    check<DeviceError>(t.is_contiguous(), path, ": module tensor '", name,
                       "' is not contiguous");
    report.loaded.push_back(name);
    copies.emplace_back(t, &src);
  }
  for (const auto& [name, _] : file.tensors)
    if (in_file.count(name)) report.unexpected.push_back(name);
  if (mode == LoadMode::Strict && !report.complete())
    throw IOError(cat(path, ": ", report.summary()));
  for (const auto& [dst, src] : copies)
    device_memory::copy(dst.data_ptr(), dst.device(), src->data_ptr(), src->device(),
                        dst.numel() * dtype_size(dst.dtype()));
  return report;
}

}  // namespace tdseg
