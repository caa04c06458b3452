#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/autograd.h"
#include "core/device_memory.h"
#include "core/ops.h"
#include "layers/checkpoint.h"
#include "layers/std/std_extras.h"
#include "train/progress.h"
#include "train/report.h"
#include "train/run_checkpoint.h"
#include "train/setup.h"
#include "train/threads.h"

namespace tdseg {

namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// splitmix64 of (seed, step): the dropout stream of one step.
uint64_t step_seed(uint64_t seed, int64_t step) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(step) + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::string step_file(int64_t step) {
  char name[40];
  std::snprintf(name, sizeof name, "step-%06lld.safetensors", static_cast<long long>(step));
  return name;
}

// The step of a "step-NNNNNN.safetensors" name, or -1.
int64_t step_of(const fs::path& p) {
  const std::string n = p.filename().string(), suffix = ".safetensors";
  if (n.rfind("step-", 0) != 0 || n.size() <= 5 + suffix.size() ||
      n.compare(n.size() - suffix.size(), suffix.size(), suffix) != 0)
    return -1;
  const std::string digits = n.substr(5, n.size() - 5 - suffix.size());
  if (digits.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoll(digits);
}

std::vector<std::pair<int64_t, fs::path>> step_checkpoints(const fs::path& dir) {
  std::vector<std::pair<int64_t, fs::path>> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (const int64_t s = step_of(entry.path()); s >= 0) out.emplace_back(s, entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

bool finite_parameters(const Module& model) {
  for (const Tensor& p : model.parameters()) {
    const Tensor h = host_copy(p);
    const float* v = h.data<float>();
    double sum = 0;
    for (int64_t i = 0; i < p.numel(); ++i) sum += v[i];
    if (!std::isfinite(sum)) return false;
  }
  return true;
}

// The head's data for a batch; the edge weight from `images`, the batch's images on the
// model's device (computed there).
StdExtras train_extras(const DeepLabConfig& mc, const Batch& batch, const Tensor& images) {
  StdExtras e;
  if (mc.head.prior == StdPrior::VP) e.volumes = batch.volumes;
  if (mc.head.prior == StdPrior::SS) e.centers = batch.centers;
  if (mc.head.prior != StdPrior::None && mc.head.edge_weight) e.edge = edge_weight(images);
  return e;
}

}  // namespace

std::string resume_checkpoint(const std::string& target) {
  if (fs::is_regular_file(target)) return target;
  const fs::path dir = fs::path(target) / "checkpoints";
  const auto all = step_checkpoints(dir);
  check<IOError>(!all.empty(), target, ": no checkpoint to resume from (", dir.string(),
                 "/step-*.safetensors)");
  return all.back().second.string();
}

std::string run_dir_of(const std::string& checkpoint) {
  const fs::path parent = fs::absolute(checkpoint).parent_path();
  return (parent.filename() == "checkpoints" ? parent.parent_path() : parent).string();
}

TrainResult train(const RunConfig& config, const TrainOptions& options) {
  const auto t_start = std::chrono::steady_clock::now();
  const Device device = run_device(config);
  apply_cuda_options(config.cuda);
  const ThreadBudget threads(static_cast<int>(config.data.workers));
  const auto train_set = open_dataset(config, true);
  const auto val_set = open_dataset(config, false);
  const int64_t classes = run_classes(config, *train_set);
  check<ValueError>(val_set->classes() <= classes, "config: eval.split has ", val_set->classes(),
                    " classes, the training split ", classes);
  const DeepLabConfig mc = run_model_config(config, classes, train_set->star_class());
  DeepLabV3Plus model(mc);
  model.to(device);  // before the optimiser makes its slots beside the parameters
  Optimizer optimizer(model.named_parameters(), optimizer_options(config));
  // The folder comes once the configuration has proved good: a bad key leaves nothing.
  const fs::path run = options.run_dir, ckpt_dir = run / "checkpoints";
  std::error_code ec;
  fs::create_directories(ckpt_dir, ec);
  check<IOError>(!ec && fs::is_directory(ckpt_dir), ckpt_dir.string(), ": cannot create (",
                 ec.message(), ")");

  CheckpointInfo state;
  state.config = config.json;
  state.classes = classes;
  state.star_class = train_set->star_class();
  if (options.resume.empty() && !config.model.init.empty()) {
    // Fine-tuning: a strict load, or a partial one (another number of classes, a backbone
    // converted from timm) that says what it skipped.
    const LoadReport r = load_checkpoint(config.model.init, model,
                                         config.model.init_strict ? LoadMode::Strict : LoadMode::Partial);
    if (options.progress)
      std::fprintf(options.progress, "model.init %s: %zu tensors loaded%s%s\n", config.model.init.c_str(),
                   r.loaded.size(), r.complete() ? "" : "; skipped ", r.summary().c_str());
  }
  if (!options.resume.empty()) {
    const CheckpointInfo loaded = load_run_checkpoint(options.resume, model, &optimizer);
    check<ValueError>(loaded.step <= config.train.iters, options.resume, ": at iteration ",
                      loaded.step, ", beyond train.iters ", config.train.iters);
    state.step = loaded.step;
    state.best_miou = loaded.best_miou;
    state.best_step = loaded.best_step;
  }
  // Checkpoints of a replaced run, or of iterations a resumed run will redo, go.
  for (const auto& [step, path] : step_checkpoints(ckpt_dir))
    if (step > state.step || options.resume.empty()) fs::remove(path);
  if (options.resume.empty()) fs::remove(ckpt_dir / "best.safetensors");
  write_file_atomically((run / "config.json").string(), config.json.dump(2) + "\n");
  RunLog log((run / "log.jsonl").string(), options.resume.empty() ? -1 : state.step);

  TrainResult result;
  result.run_dir = run.string();
  result.head = head_name(mc);
  result.model = model_family(mc.name);
  result.class_names = val_set->class_names();
  const LoaderOptions loader_options = train_loader_options(config);
  Loader loader(*train_set, loader_options);
  if (state.step > 0) loader.skip(state.step);
  const EvalOptions eval_opts = eval_options(config);
  const int64_t iters = config.train.iters;
  Progress progress(iters, options.progress);
  progress.note(cat("training ", result.model, " (head ", result.head, ", ", classes, " classes, ",
                    model.parameter_count(), " parameters) on ", train_set->name(), ", ",
                    train_set->size(), " images; iterations ", state.step + 1, "..", iters,
                    ", batch ", config.train.batch_size, ", crop ", config.data.crop, "; ",
                    threads.compute_threads(), " compute thread(s) beside ", config.data.workers,
                    " loader worker(s)"));

  std::string last_checkpoint;
  auto save = [&](int64_t step) {
    check<TrainingDiverged>(finite_parameters(model), "train: the weights are not finite after ",
                            "iteration ", step, "; stopped, the last good checkpoint is ",
                            last_checkpoint.empty() ? "none" : last_checkpoint);
    state.step = step;
    const fs::path path = ckpt_dir / step_file(step);
    save_run_checkpoint(path.string(), model, &optimizer, state);
    last_checkpoint = path.string();
    auto all = step_checkpoints(ckpt_dir);
    for (size_t k = 0; k + config.train.keep_checkpoints < all.size(); ++k)
      fs::remove(all[k].second);
  };

  // On a GPU, the most memory the steps of a logging window held (evaluations excluded):
  // the caching allocator's peak, reset when a window starts.
  auto window_peak_mib = [&]() -> std::optional<double> {
    if (!device.is_cuda()) return std::nullopt;
    const double mib = device_memory::use(device).peak / double(1 << 20);
    device_memory::reset_peak(device);
    return mib;
  };
  window_peak_mib();

  Batch batch;
  double train_seconds = 0, window_seconds = 0, loader_wait = 0, window_wait = 0;
  int64_t window_images = 0, window_steps = 0, steps_done = 0;
  for (int64_t step = state.step + 1; step <= iters; ++step) {
    const auto t0 = std::chrono::steady_clock::now();
    loader.next(batch);  // waits only when the workers have not decoded it yet
    const double wait = seconds_since(t0);
    const double lr = poly_lr(config.train.lr, step - 1, iters, config.train.poly_power);
    model.train();
    model.seed_dropout(step_seed(config.train.seed, step));
    const Tensor images = batch.images.to(device);
    const Tensor z = model.forward(images, train_extras(mc, batch, images));
    const Tensor loss = ops::cross_entropy(z, batch.masks.to(device));  // fused nll(log_softmax)
    const double value = loss.item();
    if (!std::isfinite(value))
      throw TrainingDiverged(cat("train: the loss is ", value, " at iteration ", step,
                                 "; stopped, the last good checkpoint is ",
                                 last_checkpoint.empty() ? "none" : last_checkpoint));
    loss.backward();
    optimizer.step(lr);
    const double dt = seconds_since(t0);
    train_seconds += dt;
    window_seconds += dt;
    loader_wait += wait;
    window_wait += wait;
    window_images += batch.images.size(0);
    ++window_steps;
    ++steps_done;

    if (step % config.train.log_every == 0 || step == iters) {
      const double rate = window_images / std::max(window_seconds, 1e-9);
      const std::optional<double> peak = window_peak_mib();
      log.step({step, value, lr, rate, seconds_since(t_start), window_wait / window_steps, peak});
      progress.update(step, value, lr, rate, window_wait / std::max(window_seconds, 1e-9),
                      train_seconds / steps_done * (iters - step), peak);
      window_seconds = window_wait = 0;
      window_images = window_steps = 0;
    }
    const bool last = step == iters;
    if ((config.train.eval_every > 0 && step % config.train.eval_every == 0) || last) {
      const EvalResult r = evaluate(model, *val_set, eval_loader_options(config), eval_opts);
      const double miou = r.matrix.mean_iou();
      log.eval({step, miou, r.matrix.pixel_accuracy(), r.seconds});
      state.miou = miou;
      if (!state.best_miou || miou > *state.best_miou) {
        state.best_miou = miou;
        state.best_step = step;
        state.step = step;
        save_run_checkpoint((ckpt_dir / "best.safetensors").string(), model, &optimizer, state);
      }
      char line[160];
      std::snprintf(
          line, sizeof line,
          "iteration %lld: validation mIoU %.2f%%, pixel accuracy %.2f%% (%lld images, %.1f s)",
          static_cast<long long>(step), 100 * miou, 100 * r.matrix.pixel_accuracy(),
          static_cast<long long>(r.images), r.seconds);
      progress.note(line);
      write_curves((run / "curves.png").string(), log.history());
      if (last) result.eval = r;
      window_peak_mib();  // the evaluation's memory is not the next window's
    }
    if ((config.train.checkpoint_every > 0 && step % config.train.checkpoint_every == 0) || last)
      save(step);
    state.miou.reset();
  }
  progress.finish();

  if (steps_done == 0) {  // resumed at the end: evaluate what the checkpoint holds
    result.eval = evaluate(model, *val_set, eval_loader_options(config), eval_opts);
    if (!log.history().steps.empty()) write_curves((run / "curves.png").string(), log.history());
  }
  result.steps = iters;
  result.train_seconds = train_seconds;
  result.loader_wait_seconds = loader_wait;
  result.best_miou = state.best_miou.value_or(result.eval.matrix.mean_iou());
  result.best_step = state.best_miou ? state.best_step : iters;
  result.history = log.history();
  write_run_report(config, result, model, *val_set);
  return result;
}

}  // namespace tdseg
