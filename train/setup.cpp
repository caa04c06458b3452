#include "train/setup.h"

#include "cuda/device.h"
#if defined(TDSEG_WITH_CUDA)
#include "cuda/context.h"
#include "cuda/cudnn_conv.h"
#endif
#include "models/registry.h"
#include "train/run_checkpoint.h"

namespace tdseg {

Device run_device(const RunConfig& config) {
  const std::optional<Device> device = parse_device(config.device);
  check<ValueError>(device.has_value(), "config: device must be cpu, cuda or cuda:N, got \"",
                    config.device, "\"");
  const std::string why = cuda::why_unusable(*device);
  check<ValueError>(why.empty(), "config: device \"", config.device, "\": ", why);
  return *device;
}

void apply_cuda_options(const RunConfig::Cuda& options) {
#if defined(TDSEG_WITH_CUDA)
  cuda::set_allow_tf32(options.tf32);
  cuda::set_conv_algo_search(options.conv_search == "timed" ? cuda::ConvAlgoSearch::Timed
                                                            : cuda::ConvAlgoSearch::Heuristic);
#else
  (void)options;
#endif
}

std::unique_ptr<Dataset> open_dataset(const RunConfig& config, bool train) {
  DatasetOptions o;
  o.format = config.data.format;
  o.root = config.data.root;
  o.split = train ? config.data.train_split : config.eval.split;
  o.list = train ? config.data.list : config.data.val_list;
  o.classes = config.data.classes;
  o.synthetic_size = train ? config.data.synthetic_train : config.data.synthetic_val;
  o.seed = config.data.seed;
  return make_dataset(o);
}

int64_t run_classes(const RunConfig& config, const Dataset& dataset) {
  if (config.data.classes == 0) return dataset.classes();
  check<ValueError>(config.data.classes >= dataset.classes(), "config: data.classes ",
                    config.data.classes, " is fewer than the dataset's ", dataset.classes());
  return config.data.classes;
}

LoaderOptions train_loader_options(const RunConfig& config) {
  LoaderOptions o;
  o.batch_size = config.train.batch_size;
  o.crop = {config.data.crop, config.data.crop};
  o.min_scale = config.data.min_scale;
  o.max_scale = config.data.max_scale;
  o.seed = config.train.seed;
  o.workers = static_cast<int>(config.data.workers);
  o.pin_memory = config.device != "cpu";
  return o;
}

LoaderOptions eval_loader_options(const RunConfig& config) {
  LoaderOptions o = train_loader_options(config);
  o.batch_size = 1;
  o.crop = {0, 0};  // whole images, as they come
  o.augment = false;
  o.shuffle = false;
  o.drop_last = false;
  return o;
}

DeepLabConfig run_model_config(const RunConfig& config, int64_t classes, int64_t star_class) {
  const RunConfig::Model& m = config.model;
  DeepLabConfig c;
  try {
    c = model_config(m.name, classes, m.output_stride);
  } catch (const ValueError& e) {
    throw ValueError(cat("config: model.name: ", e.what()));
  }
  if (m.head != "auto")
    c.head.prior = m.head == "softmax" ? StdPrior::None : parse_std_prior(m.head);
  StdConfig& h = c.head;
  h.impl = m.impl == "fused" ? StdImpl::Fused : StdImpl::Composed;
  h.iters = m.iters.value_or(h.prior == StdPrior::SS ? 50 : 10);
  h.lambda = m.lambda;
  h.eps = m.eps;
  h.kernel_size = m.kernel_size;
  h.sigma = m.sigma;
  h.star_class = m.star_class.value_or(star_class >= 0 ? star_class : 1);
  if (h.prior == StdPrior::SS)
    check<ValueError>(h.star_class < classes, "config: model.std.star_class ", h.star_class,
                      " is not a class of the ", classes, "-class dataset");
  h.tau = m.tau;
  h.edge_weight = m.edge_weight;
  h.learn_lambda = m.learn_lambda;
  h.learn_eps = m.learn_eps;
  h.learn_sigma = m.learn_sigma;
  h.memory = {parse_std_save(m.save), m.checkpoint_every, m.bf16_iterates};
  c.keep_prob = m.keep_prob;
  c.backbone.bn.momentum = config.train.bn_momentum;
  c.head_bn.momentum = config.train.bn_momentum;
  c.seed = config.train.seed;
  return c;
}

std::string head_name(const DeepLabConfig& config) {
  return config.head.prior == StdPrior::None ? "softmax" : std_prior_name(config.head.prior);
}

OptimizerOptions optimizer_options(const RunConfig& config) {
  OptimizerOptions o;
  o.kind = config.train.optimizer;
  o.momentum = config.train.momentum;
  o.weight_decay = config.train.weight_decay;
  o.grad_clip = config.train.grad_clip;
  return o;
}

std::unique_ptr<DeepLabV3Plus> load_model(const RunConfig& config, const std::string& checkpoint) {
  const CheckpointInfo info = read_checkpoint_info(checkpoint);
  auto model =
      std::make_unique<DeepLabV3Plus>(run_model_config(config, info.classes, info.star_class));
  apply_cuda_options(config.cuda);
  model->to(run_device(config));
  load_run_checkpoint(checkpoint, *model, nullptr);
  return model;
}

}  // namespace tdseg
