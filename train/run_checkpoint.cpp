#include "train/run_checkpoint.h"

#include "core/safetensors.h"
#include "layers/checkpoint.h"

namespace tdseg {

namespace {

const char* const kOptimizerPrefix = "optimizer.";

bool is_optimizer_tensor(const std::string& name) { return name.rfind(kOptimizerPrefix, 0) == 0; }

std::string number(double v) { return nlohmann::json(v).dump(); }  // round-trips exactly

CheckpointInfo info_from(const SafetensorsFile& file, const std::string& path) {
  const std::map<std::string, std::string>& meta = file.metadata;
  CheckpointInfo info;
  auto get = [&](const char* key) -> std::optional<std::string> {
    const auto it = meta.find(key);
    return it == meta.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  try {
    if (auto c = get("tdseg.config")) info.config = nlohmann::json::parse(*c);
    if (auto s = get("tdseg.step")) info.step = std::stoll(*s);
    if (auto c = get("tdseg.classes")) info.classes = std::stoll(*c);
    if (auto c = get("tdseg.star_class")) info.star_class = std::stoll(*c);
    if (auto b = get("tdseg.best_miou")) info.best_miou = std::stod(*b);
    if (auto b = get("tdseg.best_step")) info.best_step = std::stoll(*b);
    if (auto m = get("tdseg.miou")) info.miou = std::stod(*m);
  } catch (const std::exception& e) {
    throw IOError(cat(path, ": unreadable tdseg metadata (", e.what(), ")"));
  }
  if (info.classes == 0)
    for (const auto& [name, t] : file.tensors)
      if (name == "logits.weight" && t.dim() == 4) info.classes = t.size(0);
  check<IOError>(info.classes > 0, path, ": neither tdseg metadata nor a logits.weight tensor: ",
                 "not a tdseg model checkpoint");
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
