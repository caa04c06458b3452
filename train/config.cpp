#include "train/config.h"

#include <cmath>
#include <fstream>
#include <set>

#include "core/device.h"
#include "core/error.h"
#include "core/input_file.h"
#include "core/json_error.h"

namespace tdseg {

using nlohmann::json;

namespace {

// Types of config values: what the JSON must hold.
const char* const kInt = "int";
const char* const kNumber = "number";
const char* const kBool = "bool";
const char* const kString = "string";
const char* const kNumbers = "numbers";  // a non-empty JSON array of numbers
const char* const kOptInt = "int|null";
const char* const kOptNumber = "number|null";

bool has_type(const json& v, const std::string& type) {
  if (type == kInt) return v.is_number_integer();
  if (type == kNumber) return v.is_number();
  if (type == kBool) return v.is_boolean();
  if (type == kString) return v.is_string();
  if (type == kOptInt) return v.is_null() || v.is_number_integer();
  if (type == kOptNumber) return v.is_null() || v.is_number();
  if (!v.is_array() || v.empty()) return false;  // kNumbers
  for (const json& x : v)
    if (!x.is_number()) return false;
  return true;
}

json::json_pointer pointer(const std::string& dotted) {
  std::string p = "/" + dotted;
  for (char& c : p)
    if (c == '.') c = '/';
  return json::json_pointer(p);
}

const ConfigKey* find_key(const std::string& key) {
  for (const ConfigKey& k : config_keys())
    if (k.key == key) return &k;
  return nullptr;
}

bool is_group(const std::string& prefix) {
  for (const ConfigKey& k : config_keys())
    if (k.key.rfind(prefix + ".", 0) == 0) return true;
  return false;
}

// `given`: the keys this layer has set, so that a key given both dotted and nested (or
// twice dotted) is an error, not the last one read.
void merge_at(json& config, const std::string& prefix, const json& layer,
              const std::string& source, std::set<std::string>& given) {
  for (const auto& [name, value] : layer.items()) {
    const std::string key = prefix.empty() ? name : prefix + "." + name;
    if (const ConfigKey* k = find_key(key)) {
      check<ValueError>(has_type(value, k->type), source, ": ", key, " must be of type ", k->type,
                        ", got ", value.dump());
      check<ValueError>(given.insert(key).second, source, ": ", key, " is given twice");
      config[pointer(key)] = value;
    } else if (value.is_object() && is_group(key)) {
      merge_at(config, key, value, source, given);
    } else {
      throw ValueError(cat(source, ": unknown config key '", key, "' (see tdseg train --help)"));
    }
  }
}

// Typed reads of the effective config with their checks; `k` is the dotted key.
struct Reader {
  const json& config;
  const json& at(const std::string& k) const { return config.at(pointer(k)); }
  [[noreturn]] void fail(const std::string& k, const std::string& why) const {
    throw ValueError(cat("config: ", k, " ", why, ", got ", at(k).dump()));
  }
  std::string str(const std::string& k, std::set<std::string> choices = {}) const {
    const std::string v = at(k).get<std::string>();
    if (!choices.empty() && !choices.count(v)) {
      std::string list;
      for (const std::string& c : choices) list += (list.empty() ? "" : ", ") + c;
      fail(k, "must be one of " + list);
    }
    return v;
  }
  int64_t integer(const std::string& k, int64_t lo, int64_t hi = INT64_MAX) const {
    const int64_t v = at(k).get<int64_t>();
    if (v < lo || v > hi) fail(k, cat("must be in [", lo, ", ", hi, "]"));
    return v;
  }
  std::optional<int64_t> opt_integer(const std::string& k, int64_t lo) const {
    if (at(k).is_null()) return std::nullopt;
    return integer(k, lo);
  }
  // A finite number in [lo, hi] (open at lo when `open_lo`).
  double number(const std::string& k, double lo, double hi, bool open_lo = false) const {
    const double v = at(k).get<double>();
    if (!std::isfinite(v) || v < lo || v > hi || (open_lo && v == lo))
      fail(k, cat("must be in ", open_lo ? "(" : "[", lo, ", ", hi, "]"));
    return v;
  }
  std::optional<double> opt_positive(const std::string& k) const {
    if (at(k).is_null()) return std::nullopt;
    return number(k, 0, INFINITY, true);
  }
  bool boolean(const std::string& k) const { return at(k).get<bool>(); }
};

}  // namespace

const std::vector<ConfigKey>& config_keys() {
  static const std::vector<ConfigKey> keys = {
      {"device", kString, "cpu, cuda (GPU 0) or cuda:N (an error where it cannot be used)",
       "cpu"},
      {"cuda.tf32", kBool, "TF32 tensor cores for float32 convolutions and matrix products "
       "(false: strict float32)", true},
      {"cuda.conv_search", kString, "cuDNN's convolution algorithms: heuristic (its ranking) "
       "or timed (each shape's candidates timed once)", "heuristic"},
      {"data.format", kString, "synthetic, voc, cityscapes, isic or folder", "synthetic"},
      {"data.root", kString, "the dataset's folder (not for synthetic)", ""},
      {"data.list", kString, "a list file of training sample ids, overriding the split's", ""},
      {"data.val_list", kString, "a list file of evaluation sample ids", ""},
      {"data.train_split", kString, "the training split (VOC: train, trainval, trainaug)", "train"},
      {"data.crop", kInt, "training crop size (square), pixels", 65},
      {"data.classes", kInt, "number of classes; 0: the dataset's own (folder: set it)", 0},
      {"data.min_scale", kNumber, "random scale augmentation, lower end", 0.5},
      {"data.max_scale", kNumber, "random scale augmentation, upper end", 2.0},
      {"data.workers", kInt, "loader threads", 2},
      {"data.seed", kInt, "synthetic data: generation seed", 0},
      {"data.synthetic_train", kInt, "synthetic data: training images (0: the default)", 0},
      {"data.synthetic_val", kInt, "synthetic data: validation images (0: the default)", 0},
      {"model.name", kString, "a registry name (tdseg model list)",
       "std-deeplabv3plus-xception-tiny"},
      {"model.head", kString, "auto (from the name's prefix), softmax, std, vp or ss", "auto"},
      {"model.output_stride", kInt, "8 or 16", 16},
      {"model.keep_prob", kNumber, "ASPP dropout keep probability", 0.9},
      {"model.init", kString, "a safetensors checkpoint to start from (\"\": none)", ""},
      {"model.init_strict", kBool, "model.init must match every tensor (else: partial load)", false},
      {"model.std.iters", kOptInt, "T; null: 10, 50 for ss", nullptr},
      {"model.std.lambda", kNumber, "regularisation weight", 1.0},
      {"model.std.eps", kNumber, "entropic parameter (the paper: 0.1, fine-tuning)", 1.0},
      {"model.std.kernel_size", kInt, "Gaussian kernel size K (odd)", 7},
      {"model.std.sigma", kNumber, "Gaussian kernel width", 5.0},
      {"model.std.star_class", kOptInt, "ss: star class; null: the dataset's, else 1", nullptr},
      {"model.std.tau", kOptNumber, "ss: dual step; null: eps", nullptr},
      {"model.std.edge_weight", kBool, "weight the regulariser by the image's edges", false},
      {"model.std.learn_lambda", kBool, "train lambda", false},
      {"model.std.learn_eps", kBool, "train eps", false},
      {"model.std.learn_sigma", kBool, "train the per-class sigma", false},
      {"model.std.impl", kString, "fused or composed", "fused"},
      {"model.std.save", kString, "fused: all or checkpoints; auto: checkpoints when T > 10",
       "auto"},
      {"model.std.checkpoint_every", kInt, "checkpoints: every k-th iterate; 0: ceil(sqrt(T))", 0},
      {"model.std.bf16_iterates", kBool, "fused, float32: keep the iterates as bfloat16", false},
      {"train.iters", kInt, "training iterations", 4000},
      {"train.batch_size", kInt, "images per step (>= 2: batch norm)", 8},
      {"train.optimizer", kString, "sgd or adam", "sgd"},
      {"train.lr", kNumber, "base learning rate", 0.05},
      {"train.poly_power", kNumber, "lr * (1 - step / iters)^power", 0.9},
      {"train.momentum", kNumber, "SGD momentum (Adam: beta1)", 0.9},
      {"train.weight_decay", kNumber, "L2 on convolution weights", 4e-5},
      {"train.grad_clip", kNumber, "max global gradient norm; 0: off", 0.0},
      {"train.bn_momentum", kNumber, "batch-norm weight of the new batch (the reference: 0.0003)",
       0.01},
      {"train.seed", kInt, "initialisation, augmentation and dropout seed", 1},
      {"train.log_every", kInt, "iterations between log lines", 10},
      {"train.eval_every", kInt, "iterations between evaluations; 0: at the end only", 500},
      {"train.checkpoint_every", kInt, "iterations between checkpoints; 0: at the end only", 1000},
      {"train.keep_checkpoints", kInt, "periodic checkpoints kept (besides the best)", 2},
      {"eval.split", kString, "the evaluation split", "val"},
      {"eval.multi_scale", kNumbers, "input scales whose predictions are averaged",
       json::array({1.0})},
      {"eval.flip", kBool, "also average the horizontally flipped input", false},
      {"eval.volumes", kString, "vp: ground_truth, or a ratio file (.npy or text, C numbers)",
       "ground_truth"},
      {"eval.centers", kString, "ss: ground_truth, or estimate (centroid of u_0)", "ground_truth"},
      {"eval.gallery", kInt, "validation images shown in the report", 4},
  };
  return keys;
}

json default_config() {
  json config = json::object();
  for (const ConfigKey& k : config_keys()) config[pointer(k.key)] = k.default_value;
  return config;
}

void merge_config(json& config, const json& layer, const std::string& source) {
  check<ValueError>(layer.is_object(), source, ": a config must be a JSON object, got ",
                    layer.dump());
  std::set<std::string> given;
  merge_at(config, "", layer, source, given);
}

void apply_override(json& config, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  check<ValueError>(eq != std::string::npos && eq > 0, "--set: expected KEY=VALUE, got '",
                    assignment, "'");
  const std::string key = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  check<ValueError>(find_key(key) != nullptr, "--set: unknown config key '", key,
                    "' (see tdseg train --help)");
  json value = json::parse(text, nullptr, false);
  if (value.is_discarded()) value = text;  // not JSON: a bare string such as std or /data/voc
  // The parser took only UTF-8; a bare string may be a Latin-1 path, which no JSON (the
  // run's config.json) can hold: refused here, not when the run saves its configuration.
  if (value.is_string()) {
    try {
      (void)value.dump();
    } catch (const json::type_error&) {
      throw ValueError(cat("--set ", key, ": '", text, "' is not UTF-8 text"));
    }
  }
  merge_config(config, json{{key, value}}, "--set");
}

json read_config_file(const std::string& path) {
  std::ifstream f = open_input(path, std::ios::in, "the config file");
  // A plain parse keeps the last of two equal keys in an object: each object's keys are
  // collected, with its dotted name, as the parser reads them.
  struct Object {
    std::string name;
    std::set<std::string> keys;
  };
  std::vector<Object> open;
  std::string last_key, duplicate;
  json config;
  try {
    config = json::parse(f, [&](int, json::parse_event_t event, json& parsed) {
      if (event == json::parse_event_t::object_start) {
        // The root has no name; its objects are named by their key, theirs dotted.
        open.push_back({open.size() > 1 ? open.back().name + "." + last_key : last_key, {}});
      } else if (event == json::parse_event_t::object_end) {
        open.pop_back();
      } else if (event == json::parse_event_t::key) {
        last_key = parsed.get<std::string>();
        if (!open.back().keys.insert(last_key).second && duplicate.empty())
          duplicate = open.back().name.empty() ? last_key : open.back().name + "." + last_key;
      }
      return true;
    });
  } catch (const json::exception& e) {
    throw IOError(cat(path, ": not valid JSON (", json_error(e), ")"));
  }
  check<IOError>(duplicate.empty(), path, ": the key '", duplicate, "' appears twice");
  return config;
}

RunConfig parse_config(const json& config) {
  const Reader r{config};
  RunConfig c;
  c.json = config;
  c.device = r.str("device");
  if (!parse_device(c.device)) r.fail("device", "must be cpu, cuda or cuda:N");
  c.cuda.tf32 = r.boolean("cuda.tf32");
  c.cuda.conv_search = r.str("cuda.conv_search", {"heuristic", "timed"});

  c.data.format = r.str("data.format", {"synthetic", "voc", "cityscapes", "isic", "folder"});
  c.data.root = r.str("data.root");
  if (c.data.format != "synthetic" && c.data.root.empty())
    r.fail("data.root", "must name the dataset's folder for format " + c.data.format);
  c.data.list = r.str("data.list");
  c.data.val_list = r.str("data.val_list");
  c.data.train_split = r.str("data.train_split");
  c.data.crop = r.integer("data.crop", 9, 4096);
  c.data.classes = r.integer("data.classes", 0, 255);
  if (c.data.format == "folder" && c.data.classes < 2)
    r.fail("data.classes", "must be >= 2 for the folder format");
  c.data.min_scale = r.number("data.min_scale", 0, 10, true);
  c.data.max_scale = r.number("data.max_scale", c.data.min_scale, 10);
  c.data.workers = r.integer("data.workers", 1, 64);
  c.data.seed = static_cast<uint64_t>(r.integer("data.seed", 0));
  c.data.synthetic_train = r.integer("data.synthetic_train", 0, 1000000);
  c.data.synthetic_val = r.integer("data.synthetic_val", 0, 1000000);

  c.model.name = r.str("model.name");
  c.model.head = r.str("model.head", {"auto", "softmax", "std", "vp", "ss"});
  c.model.output_stride = r.integer("model.output_stride", INT64_MIN, INT64_MAX);
  if (c.model.output_stride != 8 && c.model.output_stride != 16)
    r.fail("model.output_stride", "must be 8 or 16");
  c.model.keep_prob = r.number("model.keep_prob", 0, 1, true);
  c.model.init = r.str("model.init");
  c.model.init_strict = r.boolean("model.init_strict");
  c.model.iters = r.opt_integer("model.std.iters", 0);
  c.model.lambda = r.number("model.std.lambda", 0, 1e6);
  c.model.eps = r.number("model.std.eps", 0, 1e6, true);
  c.model.kernel_size = r.integer("model.std.kernel_size", 1, 99);
  if (c.model.kernel_size % 2 == 0) r.fail("model.std.kernel_size", "must be odd");
  c.model.sigma = r.number("model.std.sigma", 0, 1e6, true);
  c.model.star_class = r.opt_integer("model.std.star_class", 0);
  c.model.tau = r.opt_positive("model.std.tau");
  c.model.edge_weight = r.boolean("model.std.edge_weight");
  c.model.learn_lambda = r.boolean("model.std.learn_lambda");
  c.model.learn_eps = r.boolean("model.std.learn_eps");
  c.model.learn_sigma = r.boolean("model.std.learn_sigma");
  c.model.impl = r.str("model.std.impl", {"fused", "composed"});
  c.model.save = r.str("model.std.save", {"auto", "all", "checkpoints"});
  c.model.checkpoint_every = r.integer("model.std.checkpoint_every", 0, 1000000);
  c.model.bf16_iterates = r.boolean("model.std.bf16_iterates");

  c.train.iters = r.integer("train.iters", 1);
  c.train.batch_size = r.integer("train.batch_size", 2, 4096);
  c.train.optimizer = r.str("train.optimizer", {"sgd", "adam"});
  c.train.lr = r.number("train.lr", 0, INFINITY, true);
  c.train.poly_power = r.number("train.poly_power", 0, 100);
  c.train.momentum = r.number("train.momentum", 0, 0.999999);
  c.train.weight_decay = r.number("train.weight_decay", 0, 1);
  c.train.grad_clip = r.number("train.grad_clip", 0, INFINITY);
  c.train.bn_momentum = r.number("train.bn_momentum", 0, 1, true);
  c.train.seed = static_cast<uint64_t>(r.integer("train.seed", 0));
  c.train.log_every = r.integer("train.log_every", 1);
  c.train.eval_every = r.integer("train.eval_every", 0);
  c.train.checkpoint_every = r.integer("train.checkpoint_every", 0);
  c.train.keep_checkpoints = r.integer("train.keep_checkpoints", 1, 1000);

  c.eval.split = r.str("eval.split");
  for (const json& s : r.at("eval.multi_scale")) {
    const double v = s.get<double>();
    if (!(v > 0 && v <= 8)) r.fail("eval.multi_scale", "must hold scales in (0, 8]");
    c.eval.multi_scale.push_back(v);
  }
  c.eval.flip = r.boolean("eval.flip");
  c.eval.volumes = r.str("eval.volumes");
  if (c.eval.volumes.empty()) r.fail("eval.volumes", "must be ground_truth or a file");
  c.eval.centers = r.str("eval.centers", {"ground_truth", "estimate"});
  c.eval.gallery = r.integer("eval.gallery", 0, 64);
  return c;
}

RunConfig build_config(const std::string& file, const std::vector<std::string>& overrides,
                       json base) {
  if (!file.empty()) merge_config(base, read_config_file(file), file);
  for (const std::string& o : overrides) apply_override(base, o);
  return parse_config(base);
}

}  // namespace tdseg
