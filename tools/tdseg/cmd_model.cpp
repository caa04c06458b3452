// `tdseg model list` and `tdseg model summary NAME`: the registry and a model's table.
#include <cstdio>

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

}  // namespace

int cmd_model(Args& args) {
  const std::string what = args.positional(0, "a subcommand (list or summary)");
  if (what == "list") {
    args.finish(1);
    for (const std::string& n : model_names()) std::printf("%s\n", n.c_str());
    return 0;
  }
  check<UsageError>(what == "summary", "model: unknown subcommand '", what, "' (list or summary)");
  const std::string name = args.positional(1, "NAME (see tdseg model list)");
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
