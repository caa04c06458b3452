#include "models/summary.h"

#include <cstdio>
#include <map>

#include "core/counters.h"

namespace tdseg {

namespace {

int64_t params_under(const Module& m, const std::string& prefix) {
  int64_t n = 0;
  for (const auto& [name, t] : m.named_parameters())
    if (name.rfind(prefix + ".", 0) == 0) n += t.numel();
  return n;
}

// "backbone.middle_flow.block7" -> "middle_flow"; "aspp" -> "aspp".
std::string flow_of(const std::string& stage) {
  const std::string s = stage.rfind("backbone.", 0) == 0 ? stage.substr(9) : stage;
  return s.substr(0, s.find('.'));
}

std::string human(double v, const char* unit) {
  const char* prefixes[] = {"", "K", "M", "G", "T"};
  int k = 0;
  while (v >= 1000 && k < 4) v /= 1000, ++k;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f %s%s", v, prefixes[k], unit);
  return buf;
}

}  // namespace

ModelSummary summarize(DeepLabV3Plus& model, int64_t batch, int64_t H, int64_t W) {
  check<ValueError>(batch >= 1 && H >= 8 && W >= 8, "model summary: need batch >= 1 and an input of "
                    "at least 8x8, got batch ", batch, ", ", H, "x", W);
  ModelSummary s;
  s.model = model.config().name;
  s.input = {batch, 3, H, W};
  model.train();
  Generator gen(1);
  const Tensor x = Tensor::randn(s.input, gen);
  StdExtras extras;  // VP-STD: equal volumes; SS-STD: centres from the data
  extras.volumes = Tensor::full({batch, model.config().classes},
                                static_cast<double>(H * W) / model.config().classes);
  Counters last = counters();
  model.forward(x, extras, [&](const std::string& stage, const Tensor& out) {
    const Counters now = counters();
    s.rows.push_back({stage, out.shape(), params_under(model, stage), now.conv_macs - last.conv_macs,
                      now.graph_bytes - last.graph_bytes});
    last = now;
  });
  for (const SummaryRow& r : s.rows) {
    s.total.macs += r.macs;
    s.total.graph_bytes += r.graph_bytes;
  }
  s.total.params = model.parameter_count();
  return s;
}

std::string format_summary(const ModelSummary& s) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%s, input %s, training mode\n%-34s %-22s %12s %12s %12s\n",
                s.model.c_str(), shape_str(s.input).c_str(), "stage", "output", "params",
                "mult-adds", "activations");
  out += line;
  std::map<std::string, SummaryRow> flows;
  std::vector<std::string> order;
  for (const SummaryRow& r : s.rows) {
    std::snprintf(line, sizeof line, "%-34s %-22s %12lld %12s %12s\n", r.name.c_str(),
                  shape_str(r.output).c_str(), static_cast<long long>(r.params),
                  human(r.macs, "").c_str(), human(r.graph_bytes, "B").c_str());
    out += line;
    const std::string f = flow_of(r.name);
    if (!flows.count(f)) order.push_back(f);
    flows[f].params += r.params;
    flows[f].macs += r.macs;
    flows[f].graph_bytes += r.graph_bytes;
  }
  out += "\nper stage:\n";
  for (const std::string& f : order) {
    std::snprintf(line, sizeof line, "  %-32s %12lld params %12s mult-adds %12s activations\n",
                  f.c_str(), static_cast<long long>(flows[f].params), human(flows[f].macs, "").c_str(),
                  human(flows[f].graph_bytes, "B").c_str());
    out += line;
  }
  std::snprintf(line, sizeof line,
                "total: %lld parameters (%s in float32), %s multiply-adds in convolutions, "
                "%s of activations kept for backward\n",
                static_cast<long long>(s.total.params), human(4.0 * s.total.params, "B").c_str(),
                human(s.total.macs, "").c_str(), human(s.total.graph_bytes, "B").c_str());
  return out + line;
}

}  // namespace tdseg
