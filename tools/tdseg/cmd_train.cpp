// `tdseg train`: one training run, a comparison of heads on the same network, or (with no
// config, override or resume) the README's main job: the default network with the plain
// softmax head and with the STD head on the built-in synthetic data, side by side.
#include <chrono>
#include <cstdio>
#include <sstream>

#include "tools/tdseg/commands.h"
#include "train/progress.h"
#include "train/report.h"
#include "train/run_checkpoint.h"
#include "train/setup.h"
#include "train/trainer.h"

namespace tdseg::cli {

namespace {

void print_result(const TrainResult& r) {
  std::printf("\n%s (%s head): final evaluation, %s\n%s", r.model.c_str(), r.head.c_str(),
              r.eval.description.c_str(), r.eval.matrix.format_iou_table(r.class_names).c_str());
  std::printf("pixel accuracy %.2f%%; best validation mIoU %.2f%% at iteration %lld\n",
              100 * r.eval.matrix.pixel_accuracy(), 100 * r.best_miou,
              static_cast<long long>(r.best_step));
  std::printf("run folder %s: report.md, curves.png, log.jsonl, checkpoints/\n", r.run_dir.c_str());
}

std::vector<std::string> split_heads(const std::string& list) {
  std::vector<std::string> heads;
  std::stringstream in(list);
  std::string h;
  while (std::getline(in, h, ',')) {
    check<UsageError>(h == "softmax" || h == "std" || h == "vp" || h == "ss",
                      "train: --compare: ", "unknown head '", h, "' (softmax, std, vp, ss)");
    heads.push_back(h);
  }
  check<UsageError>(!heads.empty(), "train: --compare needs a list of heads, e.g. softmax,std");
  return heads;
}

int report_divergence(const TrainingDiverged& e) {
  std::fflush(stdout);
  std::fprintf(stderr, "tdseg: %s\n", e.what());
  return 1;
}

}  // namespace

int cmd_train(Args& args) {
  const std::string file = args.option_or("config", "");
  const std::vector<std::string> sets = args.options("set");
  const auto out = args.option("out");
  const auto resume = args.option("resume");
  const auto compare = args.option("compare");
  const bool quiet = args.flag("quiet");
  args.finish(0);
  check<UsageError>(!resume || file.empty(), "train: --resume continues a run with its own ",
                    "configuration; change it with --set, not --config");
  check<UsageError>(!resume || !compare,
                    "train: --resume continues one run; it takes no --compare");
  const auto t0 = std::chrono::steady_clock::now();
  TrainOptions options;
  options.progress = quiet ? nullptr : stdout;

  if (resume) {
    const std::string checkpoint = resume_checkpoint(*resume);
    const RunConfig config =
        checkpoint_config(read_checkpoint_info(checkpoint), checkpoint, "", sets);
    check_devices({config});
    options.resume = checkpoint;
    options.run_dir = out.value_or(run_dir_of(checkpoint));
    std::printf("resuming from %s\n", checkpoint.c_str());
    try {
      print_result(train(config, options));
    } catch (const TrainingDiverged& e) {
      return report_divergence(e);
    }
    return 0;
  }

  const bool main_job = file.empty() && sets.empty();
  const std::vector<std::string> heads = compare    ? split_heads(*compare)
                                         : main_job ? std::vector<std::string>{"softmax", "std"}
                                                    : std::vector<std::string>{};
  if (heads.empty()) {
    const RunConfig config = build_config(file, sets);
    check_devices({config});
    options.run_dir = out.value_or("runs/train");
    try {
      print_result(train(config, options));
    } catch (const TrainingDiverged& e) {
      return report_divergence(e);
    }
    return 0;
  }

  // Every configuration is checked before the first run starts.
  std::vector<RunConfig> configs;
  for (const std::string& head : heads) {
    std::vector<std::string> with_head = sets;
    with_head.push_back("model.head=" + head);
    configs.push_back(build_config(file, with_head));
  }
  check_devices(configs);
  const std::string base = out.value_or("runs/main");
  const std::string family = model_family(configs[0].model.name);
  std::printf("tdseg train: %s with the heads", family.c_str());
  for (const std::string& h : heads) std::printf(" %s", h.c_str());
  std::printf(" on %s data, %lld iterations each; runs in %s/\n\n", configs[0].data.format.c_str(),
              static_cast<long long>(configs[0].train.iters), base.c_str());
  std::vector<TrainResult> results;
  for (size_t k = 0; k < heads.size(); ++k) {
    options.run_dir = base + "/" + heads[k];
    try {
      results.push_back(train(configs[k], options));
    } catch (const TrainingDiverged& e) {
      return report_divergence(e);
    }
    print_result(results.back());
    std::printf("\n");
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  write_comparison_report(base + "/report.md", results, wall);
  std::printf("== %s on %s data: final validation mIoU side by side ==\n%s", family.c_str(),
              configs[0].data.format.c_str(), comparison_table(results).c_str());
  std::printf("total wall time %s; report %s/report.md\n", format_duration(wall).c_str(),
              base.c_str());
  return 0;
}

}  // namespace tdseg::cli
