// The run configuration of `tdseg train | eval | predict`: a JSON object whose every key
// has a default, a type and a check (config_keys() lists them). A config is built as
//   defaults  <-  a config file (--config FILE.json)  <-  overrides (--set KEY=VALUE)
// where each layer may name only known keys ("train.lr" or {"train": {"lr": ...}}) with a
// value of the key's type (an integer is accepted where a number is expected); anything
// else is a ValueError naming the key. The effective JSON is what a run writes beside
// itself (config.json) and into its checkpoints, so that eval and resume rebuild the run.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tdseg {

struct RunConfig {
  std::string device = "cpu";  // cpu, cuda, cuda:N
  struct Cuda {
    bool tf32 = true;
    std::string conv_search;  // heuristic, timed
  } cuda;
  struct Data {
    std::string format, root, list, val_list, train_split;
    int64_t crop = 0, classes = 0, synthetic_train = 0, synthetic_val = 0, workers = 0;
    uint64_t seed = 0;
    double min_scale = 0, max_scale = 0;
  } data;
  struct Model {
    std::string name, head, impl;  // head: auto, softmax, std, vp, ss
    std::string save;              // the fused STD's backward memory: auto, all, checkpoints
    std::string init;              // checkpoint to start from; "" none
    bool init_strict = false;      // Strict load of `init` (else Partial: fine-tuning)
    int64_t output_stride = 0, kernel_size = 0;
    std::optional<int64_t> iters, star_class;
    double lambda = 0, eps = 0, sigma = 0, keep_prob = 0;
    std::optional<double> tau;
    bool edge_weight = false, learn_lambda = false, learn_eps = false, learn_sigma = false;
    int64_t checkpoint_every = 0;  // 0: ceil(sqrt(T))
    bool bf16_iterates = false;
  } model;
  struct Train {
    std::string optimizer;  // sgd, adam
    int64_t iters = 0, batch_size = 0, log_every = 0, eval_every = 0, checkpoint_every = 0,
            keep_checkpoints = 0;
    double lr = 0, momentum = 0, weight_decay = 0, poly_power = 0, grad_clip = 0, bn_momentum = 0;
    uint64_t seed = 0;
  } train;
  struct Eval {
    std::string split, volumes, centers;
    std::vector<double> multi_scale;
    bool flip = false;
    int64_t gallery = 0;
  } eval;

  nlohmann::json json;  // the effective configuration these fields were read from
};

struct ConfigKey {
  std::string key, type, help;
  nlohmann::json default_value;
};
const std::vector<ConfigKey>& config_keys();

// The defaults as a nested JSON object.
nlohmann::json default_config();
// Merges `layer` (nested objects and/or dotted keys) into `config`; `source` ("FILE.json",
// "--set") prefixes the error message of an unknown key or a wrong type.
void merge_config(nlohmann::json& config, const nlohmann::json& layer, const std::string& source);
// One `--set KEY=VALUE`: VALUE parsed as JSON, else taken as a string.
void apply_override(nlohmann::json& config, const std::string& assignment);
// Reads a config file: an IOError naming the file when it is missing, not JSON, or gives
// a key twice.
nlohmann::json read_config_file(const std::string& path);
// Checks every value (ranges, choices) and returns the typed configuration.
RunConfig parse_config(const nlohmann::json& config);

// defaults <- file (when non-empty) <- each override, parsed.
RunConfig build_config(const std::string& file, const std::vector<std::string>& overrides,
                       nlohmann::json base = default_config());

}  // namespace tdseg
