#include "train/evaluate.h"

#include <chrono>
#include <fstream>
#include <sstream>

#include "core/autograd.h"
#include "core/input_file.h"
#include "core/npy.h"
#include "core/ops.h"
#include "layers/std/std_extras.h"
#include "models/decoder.h"
#include "train/threads.h"

namespace tdseg {

namespace {

// The extras at an input resized from H x W to h x w (and mirrored with `flip`).
StdExtras scaled_extras(const StdExtras& e, int64_t H, int64_t W, int64_t h, int64_t w, bool flip) {
  StdExtras out;
  if (e.volumes.defined()) {
    out.volumes = host_copy(e.volumes).to(DType::Float32);
    float* v = out.volumes.data<float>();
    for (int64_t i = 0; i < out.volumes.numel(); ++i) v[i] *= static_cast<float>(h * w) / (H * W);
  }
  if (e.centers.defined()) {
    out.centers = host_copy(e.centers).to(DType::Float32);
    float* c = out.centers.data<float>();
    const float sx = W > 1 ? static_cast<float>(w - 1) / (W - 1) : 0.0f;
    const float sy = H > 1 ? static_cast<float>(h - 1) / (H - 1) : 0.0f;
    for (int64_t n = 0; n < out.centers.size(0); ++n) {
      c[2 * n] *= sx;
      if (flip) c[2 * n] = (w - 1) - c[2 * n];
      c[2 * n + 1] *= sy;
    }
  }
  return out;
}

void accumulate(Tensor& sum, const Tensor& probs) {
  if (!sum.defined())
    sum = probs.clone();
  else
    add_inplace(sum, probs);
}

}  // namespace

EvalOptions eval_options(const RunConfig& config) {
  EvalOptions o;
  o.scales = config.eval.multi_scale;
  o.flip = config.eval.flip;
  o.volumes = config.eval.volumes;
  o.centers = config.eval.centers;
  return o;
}

Tensor read_volume_ratios(const std::string& path, int64_t classes) {
  Tensor r;
  if (path.size() > 4 && path.compare(path.size() - 4, 4, ".npy") == 0) {
    r = load_npy(path);
    check<ValueError>(is_floating(r.dtype()) && r.dim() == 1, path,
                      ": volume ratios must be a float array [C], got ", r.str());
    r = r.to(DType::Float64);
  } else {
    std::ifstream f = open_input(path, std::ios::in, "the volume ratio file (eval.volumes)");
    std::vector<double> values;
    std::string token;
    while (f >> token) {
      for (char& ch : token)
        if (ch == ',') ch = ' ';
      std::istringstream words(token);
      double v = 0;
      while (words >> v) values.push_back(v);
      check<ValueError>(words.eof(), path, ": '", token, "' is not a number");
    }
    r = Tensor::from_vector<double>({static_cast<int64_t>(values.size())}, values);
  }
  check<ValueError>(r.numel() == classes, path, ": ", r.numel(), " volume ratios for ", classes,
                    " classes");
  for (int64_t c = 0; c < classes; ++c)
    check<ValueError>(r.data<double>()[c] >= 0 && r.data<double>()[c] <= 1, path, ": ratio ",
                      r.data<double>()[c], " of class ", c, " is outside [0, 1]");
  return r;
}

std::string describe_eval(const EvalOptions& o, const DeepLabConfig& model) {
  std::string s = o.scales.size() == 1 && o.scales[0] == 1.0 ? "single scale" : "scales ";
  if (s != "single scale")
    for (size_t i = 0; i < o.scales.size(); ++i) s += cat(i ? ", " : "", o.scales[i]);
  s += o.flip ? " with flip" : ", no flip";
  if (model.head.prior == StdPrior::VP)
    s += o.volumes == "ground_truth"
             ? "; VP-STD volumes from the ground truth (as the paper's evaluation)"
             : "; VP-STD volumes from the ratios in " + o.volumes;
  if (model.head.prior == StdPrior::SS)
    s += o.centers == "ground_truth" ? "; SS-STD centres from the ground truth"
                                     : "; SS-STD centres estimated from u_0";
  return s;
}

StdExtras eval_extras(const DeepLabConfig& model, const Batch& batch, const EvalOptions& o,
                      const Tensor& ratios) {
  StdExtras e;
  const int64_t N = batch.images.size(0), H = batch.images.size(2), W = batch.images.size(3);
  if (model.head.prior == StdPrior::VP)
    e.volumes = o.volumes == "ground_truth"
                    ? batch.volumes
                    : volumes_from_ratios(ratios.to(DType::Float32), N, H, W);
  if (model.head.prior == StdPrior::SS && o.centers == "ground_truth") e.centers = batch.centers;
  return e;
}

Probabilities predict_probabilities(const DeepLabV3Plus& model, const Tensor& host_images,
                                    const StdExtras& extras, const EvalOptions& o,
                                    bool with_logits) {
  InferenceGuard no_record;
  const Tensor images = host_images.to(model.device());
  const int64_t H = images.size(2), W = images.size(3);
  Probabilities sum;
  int64_t count = 0;
  for (double s : o.scales) {
    const int64_t h = scale_dimension(H, s), w = scale_dimension(W, s);
    const Tensor scaled = h == H && w == W ? images : ops::resize_bilinear(images, h, w);
    for (bool flip : {false, true}) {
      if (flip && !o.flip) continue;
      const Tensor x = flip ? ops::flip_width(scaled) : scaled;
      StdExtras e = scaled_extras(extras, H, W, h, w, flip);
      if (model.config().head.edge_weight) e.edge = edge_weight(x);
      Tensor logits;
      const Tensor z = model.forward(x, e, [&](const std::string& stage, const Tensor& t) {
        if (with_logits && stage == "logits") logits = t;
      });
      auto back = [&](const Tensor& t) {
        const Tensor u = flip ? ops::flip_width(t) : t;
        return ops::softmax(h == H && w == W ? u : ops::resize_bilinear(u, H, W));
      };
      accumulate(sum.head, back(z));
      if (with_logits) accumulate(sum.logits, back(logits));
      ++count;
    }
  }
  const Tensor scale = Tensor::full({}, 1.0 / count, sum.head.dtype(), sum.head.device());
  sum.head = host_copy(ops::mul_scalar(sum.head, scale));
  if (with_logits) sum.logits = host_copy(ops::mul_scalar(sum.logits, scale));
  return sum;
}

EvalResult evaluate(DeepLabV3Plus& model, const Dataset& dataset,
                    const LoaderOptions& loader_options, const EvalOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  const ThreadBudget threads(loader_options.workers);
  model.eval();
  const DeepLabConfig& mc = model.config();
  const Tensor ratios = mc.head.prior == StdPrior::VP && options.volumes != "ground_truth"
                            ? read_volume_ratios(options.volumes, mc.classes)
                            : Tensor();
  EvalResult r;
  r.matrix = ConfusionMatrix(mc.classes);
  r.description = describe_eval(options, mc);
  Loader loader(dataset, loader_options);
  Batch batch;
  while (loader.next(batch)) {
    const StdExtras extras = eval_extras(mc, batch, options, ratios);
    r.matrix.add(batch.masks,
                 argmax_classes(predict_probabilities(model, batch.images, extras, options).head));
    r.images += batch.images.size(0);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace tdseg
