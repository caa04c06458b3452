// `tdseg model list | summary | features`: the registry, a model's table, and its
// backbone features under imported weights.
#include <cstdio>

#include "core/autograd.h"
#include "core/npy.h"
#include "core/ops/elementwise.h"
#include "layers/checkpoint.h"
#include "models/registry.h"
#include "models/summary.h"
#include "tools/tdseg/commands.h"

namespace tdseg::cli {

namespace {

// "513x513" -> {513, 513}
std::pair<int64_t, int64_t> parse_size(const std::string& s) {
  const size_t x = s.find('x');
  try {
    size_t a = 0, b = 0;
    if (x != std::string::npos) {
      const int64_t h = std::stoll(s.substr(0, x), &a), w = std::stoll(s.substr(x + 1), &b);
      if (a == x && b == s.size() - x - 1 && h > 0 && w > 0) return {h, w};
    }
  } catch (const std::exception&) {
  }
  throw UsageError("model: --input expects HxW such as 513x513, got '" + s + "'");
}

// `model features`: the backbone's output (and low-level features) for an input .npy, with
// backbone weights from a checkpoint (e.g. one converted from timm): checks an import.
int features(Args& args, const std::string& name) {
  const std::string weights = args.option_or("weights", ""), input = args.option_or("input", "");
  const std::string out = args.option_or("out", ""), low_out = args.option_or("low-level-out", "");
  const int64_t os = args.int_or("output-stride", 16, 1, 64);
  args.finish(2);
  check<UsageError>(!weights.empty() && !input.empty() && !out.empty(),
                    "model features: --weights, --input and --out are required");
  DeepLabV3Plus model(model_config(name, 21, os));
  const LoadReport report = load_checkpoint(weights, model, LoadMode::Partial);
  std::vector<std::string> missing;
  for (const std::string& n : report.missing)
    if (n.rfind("backbone.", 0) == 0) missing.push_back(n);
  check<IOError>(missing.empty() && report.mismatched.empty(), weights,
                 ": does not cover the backbone: ", report.summary());
  model.eval();
  InferenceGuard inference;
  const Tensor x = load_npy(input).to(DType::Float32);
  const Xception::Features f = model.backbone().forward(x);
  save_npy(out, f.out);
  if (!low_out.empty()) save_npy(low_out, f.low_level);
  std::printf("%s: %zu backbone tensors loaded from %s; features %s -> %s\n", name.c_str(),
              report.loaded.size(), weights.c_str(), shape_str(f.out.shape()).c_str(), out.c_str());
  return 0;
}

}  // namespace

int cmd_model(Args& args) {
  const std::string what = args.positional(0, "a subcommand (list or summary)");
  if (what == "list") {
    args.finish(1);
    for (const std::string& n : model_names()) std::printf("%s\n", n.c_str());
    return 0;
  }
  check<UsageError>(what == "summary" || what == "features", "model: unknown subcommand '", what,
                    "' (list, summary or features)");
  const std::string name = args.positional(1, "NAME (see tdseg model list)");
  if (what == "features") return features(args, name);
  const int64_t classes = args.int_or("classes", 21, 1, 1000);
  const int64_t os = args.int_or("output-stride", 16, 1, 64);
  const int64_t batch = args.int_or("batch", 2, 1, 1024);
  const auto [H, W] = parse_size(args.option_or("input", "513x513"));
  args.finish(2);
  DeepLabV3Plus model(model_config(name, classes, os));
  std::fputs(format_summary(summarize(model, batch, H, W)).c_str(), stdout);
  return 0;
}

}  // namespace tdseg::cli
