#include "train/run_checkpoint.h"

#include <charconv>
#include <limits>

#include "core/json_error.h"
#include "core/safetensors.h"
#include "layers/checkpoint.h"

namespace tdseg {

namespace {

const char* const kOptimizerPrefix = "optimizer.";

bool is_optimizer_tensor(const std::string& name) { return name.rfind(kOptimizerPrefix, 0) == 0; }

std::string number(double v) { return nlohmann::json(v).dump(); }  // round-trips exactly

// A metadata value, the whole of `text` read as a number in [lo, hi]; an IOError naming
// the file and the key otherwise. tdseg writes what it reads back exactly (number()).
template <typename T>
T metadata_number(const std::string& text, const char* key, T lo, T hi, const std::string& path) {
  T v{};
  const auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (err != std::errc() || end != text.data() + text.size() || !(v >= lo && v <= hi))
    throw IOError(cat(path, ": metadata ", key, " is '", text, "', not a number in [", lo, ", ", hi, "]"));
  return v;
}

CheckpointInfo info_from(const SafetensorsFile& file, const std::string& path) {
  const std::map<std::string, std::string>& meta = file.metadata;
  CheckpointInfo info;
  auto get = [&](const char* key) -> std::optional<std::string> {
    const auto it = meta.find(key);
    return it == meta.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();
  if (auto c = get("tdseg.config")) {
    try {
      info.config = nlohmann::json::parse(*c);
    } catch (const nlohmann::json::exception& e) {
      throw IOError(cat(path, ": metadata tdseg.config is not valid JSON (", json_error(e), ")"));
    }
  }
  if (auto s = get("tdseg.step")) info.step = metadata_number<int64_t>(*s, "tdseg.step", 0, kMaxInt, path);
  // The masks' labels are 8-bit, 255 the ignore label: config's data.classes bound.
  if (auto c = get("tdseg.classes")) info.classes = metadata_number<int64_t>(*c, "tdseg.classes", 1, 255, path);
  if (auto c = get("tdseg.star_class"))
    info.star_class = metadata_number<int64_t>(*c, "tdseg.star_class", -1, 254, path);
  if (auto b = get("tdseg.best_miou")) info.best_miou = metadata_number(*b, "tdseg.best_miou", 0.0, 1.0, path);
  if (auto b = get("tdseg.best_step"))
    info.best_step = metadata_number<int64_t>(*b, "tdseg.best_step", 0, kMaxInt, path);
  if (auto m = get("tdseg.miou")) info.miou = metadata_number(*m, "tdseg.miou", 0.0, 1.0, path);
  if (info.classes == 0)
    for (const auto& [name, t] : file.tensors)
      if (name == "logits.weight" && t.dim() == 4) info.classes = t.size(0);
  check<IOError>(info.classes > 0, path, ": neither tdseg metadata nor a logits.weight tensor: ",
                 "not a tdseg model checkpoint");
  check<IOError>(info.star_class < info.classes, path, ": metadata tdseg.star_class ",
                 info.star_class, " is not one of its ", info.classes, " classes");
  return info;
}

}  // namespace

void save_run_checkpoint(const std::string& path, const Module& model, const Optimizer* optimizer,
                         const CheckpointInfo& info) {
  Module::Named tensors = model.named_parameters();
  for (auto& b : model.named_buffers()) tensors.push_back(std::move(b));
  if (optimizer)
    for (auto& s : optimizer->state()) tensors.push_back(std::move(s));
  std::map<std::string, std::string> meta;
  if (!info.config.is_null()) meta["tdseg.config"] = info.config.dump();
  meta["tdseg.step"] = std::to_string(info.step);
  meta["tdseg.classes"] = std::to_string(info.classes);
  meta["tdseg.star_class"] = std::to_string(info.star_class);
  if (info.best_miou) {
    meta["tdseg.best_miou"] = number(*info.best_miou);
    meta["tdseg.best_step"] = std::to_string(info.best_step);
  }
  if (info.miou) meta["tdseg.miou"] = number(*info.miou);
  save_safetensors(path, tensors, meta);
}

CheckpointInfo read_checkpoint_info(const std::string& path) {
  return info_from(load_safetensors(path), path);
}

CheckpointInfo load_run_checkpoint(const std::string& path, Module& model, Optimizer* optimizer) {
  const SafetensorsFile file = load_safetensors(path);
  const LoadReport report = load_checkpoint(path, model, LoadMode::Partial);
  LoadReport problems = report;
  problems.unexpected.clear();
  for (const std::string& name : report.unexpected)
    if (!is_optimizer_tensor(name)) problems.unexpected.push_back(name);
  check<IOError>(problems.complete(), path, ": does not fit the model: ", problems.summary());
  if (optimizer) {
    Module::Named state;
    for (const auto& [name, t] : file.tensors)
      if (is_optimizer_tensor(name)) state.emplace_back(name, t);
    optimizer->load_state(state, path);
  }
  return info_from(file, path);
}

RunConfig checkpoint_config(const CheckpointInfo& info, const std::string& path,
                            const std::string& file, const std::vector<std::string>& overrides) {
  nlohmann::json base = default_config();
  if (!info.config.is_null()) merge_config(base, info.config, path);
  return build_config(file, overrides, base);
}

}  // namespace tdseg
