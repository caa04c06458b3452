// `tdseg eval`: a checkpoint's confusion matrix, per-class IoU, mIoU and pixel accuracy
// on the evaluation split, single- or multi-scale with flips (train/evaluate.h).
#include <cstdio>

#include "tools/tdseg/commands.h"
#include "train/evaluate.h"
#include "train/run_checkpoint.h"
#include "train/setup.h"

namespace tdseg::cli {

int cmd_eval(Args& args) {
  const auto checkpoint = args.option("checkpoint");
  const std::string file = args.option_or("config", "");
  const std::vector<std::string> sets = args.options("set");
  args.finish(0);
  check<UsageError>(checkpoint.has_value(), "eval: --checkpoint CKPT is required");
  const RunConfig config =
      checkpoint_config(read_checkpoint_info(*checkpoint), *checkpoint, file, sets);
  check_devices({config});
  const auto val = open_dataset(config, false);
  auto model = load_model(config, *checkpoint);
  check<ValueError>(val->classes() <= model->config().classes, "eval: the ", config.eval.split,
                    " split has ", val->classes(), " classes, the checkpoint's model ",
                    model->config().classes);
  const EvalResult r = evaluate(*model, *val, eval_loader_options(config), eval_options(config));
  const auto names = val->class_names();
  std::printf("%s: %s, %s head, on %s (%s split, %lld images, %.1f s)\n", checkpoint->c_str(),
              model_family(model->config().name).c_str(), head_name(model->config()).c_str(),
              val->name().c_str(), config.eval.split.c_str(), static_cast<long long>(r.images),
              r.seconds);
  std::printf("evaluation: %s\n\nconfusion matrix:\n%s\n%s", r.description.c_str(),
              r.matrix.format_matrix(names).c_str(), r.matrix.format_iou_table(names).c_str());
  std::printf("pixel accuracy %.2f%%\n", 100 * r.matrix.pixel_accuracy());
  return 0;
}

}  // namespace tdseg::cli
