// tdseg: the command line. `tdseg COMMAND [options]`; `tdseg COMMAND --help` for each.
// Exit codes: 0 success, 1 a failed check (e.g. a benchmark's validation), 2 bad input
// (a flag, a file, a shape): one line on stderr naming the thing at fault.
#include <cstdio>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "tools/tdseg/commands.h"
#include "tools/tdseg/train_usage.h"

namespace tdseg::cli {
namespace {

const Command kCommands[] = {
    {"version", "print the version, the build's backends and library versions",
     "usage: tdseg version\n\nPrints tdseg's version, the CPU BLAS in use and, for a CUDA build,\n"
     "the CUDA runtime, cuDNN and cuBLAS versions it was linked against.\n",
     cmd_version},
    {"devices", "list CUDA devices (name, memory, compute capability)",
     "usage: tdseg devices\n\nLists the CUDA devices this process can use, with name, memory and\n"
     "compute capability, or says in one line why there is none. Exits 0 either way.\n",
     cmd_devices},
    {"inspect", "describe a tensor file (.npy) or a checkpoint (.safetensors)",
     "usage: tdseg inspect FILE\n\nFILE is a NumPy .npy file (float32, float64 or int32, C order)\n"
     "or a safetensors checkpoint (F32, F64, I32; recognised by its content).\n"
     "For a .npy file, prints its dtype, shape and the min, max, mean and standard deviation\n"
     "of its values; for a checkpoint, the number of tensors and values, the metadata, and\n"
     "the name, dtype, shape and those statistics of every tensor, in file order.\n"
     "A missing, malformed or unsupported file exits 2 with one line naming the file.\n",
     cmd_inspect},
    {"smoke", "train a tiny segmentation net on random data and time forward/backward",
     "usage: tdseg smoke [--batch N] [--size S] [--classes C] [--width W] [--steps K]\n"
     "                   [--lr LR] [--seed SEED]\n\n"
     "The main job until the training pipeline lands: builds TinySegNet (stem, atrous\n"
     "depthwise-separable block, image pooling, logits, bilinear upsampling), draws a\n"
     "random batch whose labels are a function of the image, and runs K steps of SGD on\n"
     "the cross-entropy, printing the loss and the forward and backward times.\n"
     "Defaults: --batch 4 --size 97 --classes 5 --width 16 --steps 20 --lr 0.5 --seed 1.\n",
     cmd_smoke},
    {"bench", "benchmarks: `tdseg bench conv` (CPU), `std|step` (GPU or CPU), `ops` (GPU)",
     "usage: tdseg bench conv [--repeat R] [--batch N] [--size S] [--json]\n"
     "       tdseg bench std [--device cpu|cuda|cuda:N] [--shape N,C,H,W | --preset voc|cityscapes|isic]\n"
     "                       [--dtype float32|float64] [--kernels one|passes|both] [--repeat R] [--json]\n"
     "       tdseg bench step [--model NAME] [--head softmax|std|vp|ss]... [--classes C]\n"
     "                        [--batch B] [--input HxW] [--device cpu|cuda|cuda:N] [--repeat R] [--json]\n"
     "       tdseg bench ops [--device cuda|cuda:N] [--repeat R] [--json]\n"
     "       (step and ops also take --tf32 on|off and --conv-search heuristic|timed)\n\n"
     "std times loss = cross_entropy(head(o), labels) on random logits o [N, C, H, W] for\n"
     "the heads softmax + NLL (the baseline), STD composed and fused (T = 10), VP-STD fused\n"
     "(T = 10) and SS-STD fused (T = 50), K = 7, sigma = 5: median ms of the forward and of\n"
     "forward + backward (CUDA events on the GPU), their ratio to the baseline, the bytes\n"
     "moved by the byte model in tools/tdseg/bench_std.cpp (after docs/PERFORMANCE.md), the\n"
     "GB/s that makes and its fraction of a device-to-device copy measured in the same run,\n"
     "and the peak memory of the GPU's caching allocator (n/a on the CPU). A row that fails\n"
     "(out of memory, say) prints why and the command exits 1. Presets, the paper's training\n"
     "shapes: voc 16,21,513,513; cityscapes 16,19,769,769 (the composed STD, the heaviest\n"
     "row, should peak near 50 GB there); isic 16,2,513,513. Defaults: --device cuda when a\n"
     "GPU is usable, else cpu; --preset voc on the GPU, --shape 2,21,129,129 on the CPU;\n"
     "--dtype float32; --repeat 20 on the GPU, 5 on the CPU. --kernels (GPU only): the fused\n"
     "heads on the one-kernel iteration (one, the default), on the separate blur passes\n"
     "forward and the tile kernel back (passes: the rows STD, VP-STD, SS-STD passes), or\n"
     "both, one after the other in one run.\n\n"
     "step times whole training steps (forward, cross-entropy, backward, SGD update) of\n"
     "registry model NAME (a plain name, see tdseg model list) with each head given by\n"
     "--head (repeatable; all four when omitted) on random but fixed data (VP-STD's volumes\n"
     "from the labels, SS-STD's centre the centroid of its star class): median ms per step,\n"
     "it/s, the medians of its forward (with the loss), backward and update, peak memory,\n"
     "and each head's overhead over the softmax head beside the paper's\n"
     "Table 5 (DeepLabV3+ 1.43 it/s; STD 1.21 it/s, +18%; VP-STD 0.77 it/s, +86%).\n"
     "Defaults on the GPU: deeplabv3plus-xception65, 21 classes, 513x513, the largest batch of\n"
     "16, 12, 8, 6, 4, 3, 2 at which every head's step fits (printed), --repeat 5; on the CPU:\n"
     "deeplabv3plus-xception-tiny, 33x33, --batch 2, --repeat 3.\n\n"
     "ops times, on one GPU, the ops of a DeepLabV3+ training step at batch 16: conv2d\n"
     "forward, backward data and backward filter for the depthwise 3x3 and pointwise 1x1\n"
     "convolutions of 728 channels at 33x33 and 129x129, an ASPP atrous depthwise 3x3 and\n"
     "the 1x1 projections 2048->256 and 256->48 (depthwise both through cuDNN and through\n"
     "the handwritten kernels); batch norm and bilinear resize (33->129, 129->513)\n"
     "forward + backward; the optimiser's step over Xception-65's parameters; and a\n"
     "device-to-device copy. It prints median ms (CUDA events),\n"
     "TFLOP/s or GB/s by a stated byte model, the fraction of the copy's bandwidth, and\n"
     "for convolutions the time of cuDNN's fastest algorithm by timed search and our ratio\n"
     "to it. Without a GPU it says why in one line on stderr and exits 2. Defaults:\n"
     "--device cuda (GPU 0), --repeat 50.\n\n"
     "conv times conv2d forward and backward (input and weight gradients) on the CPU for\n"
     "the convolution shapes of an Xception-65 DeepLabV3+ at a reduced input size, and\n"
     "prints median milliseconds over R runs, GFLOP/s, and the ratio to the BLAS sgemm rate\n"
     "measured in the same run (the best a GEMM-lowered convolution can do).\n"
     "Defaults: --repeat 10 --batch 2 --size 129.\n",
     cmd_bench},
    {"model", "the model registry and a model's summary table",
     "usage: tdseg model list\n"
     "       tdseg model summary NAME [--classes N] [--input HxW] [--output-stride 8|16]\n"
     "                                [--batch B]\n"
     "       tdseg model features NAME --weights W.safetensors --input X.npy --out F.npy\n"
     "                                [--low-level-out L.npy] [--output-stride 8|16]\n\n"
     "features loads the backbone's weights from W (e.g. converted from timm by\n"
     "tools/export_timm_xception65.py; every backbone tensor must be there), runs the\n"
     "backbone in evaluation mode on X [N, 3, H, W] and writes its output (and the\n"
     "low-level features of entry_flow.block2) as float32 .npy files.\n\n"
     "summary runs one training-mode forward of model NAME on a random batch and prints, for\n"
     "each stage (the root convolutions, every Xception module, ASPP, decoder, logits, head),\n"
     "its output shape, parameters, the multiply-adds of its convolutions and the bytes of\n"
     "activations the autograd graph keeps for backward; then totals per flow and overall.\n"
     "Defaults: --classes 21 --input 513x513 --output-stride 16 --batch 2 (training-mode batch\n"
     "norm needs two values per channel in ASPP's image pooling).\n",
     cmd_model},
    {"std", "run an STD block (softmax, STD, VP-STD, SS-STD) on logits from a .npy file",
     "usage: tdseg std --logits O.npy --out U.npy [--prior none|std|vp|ss] [--iters T]\n"
     "                 [--lambda L] [--eps E] [--kernel-size K] [--sigma S]\n"
     "                 [--volumes V.npy] [--centers C.npy] [--star-class I] [--tau TAU]\n"
     "                 [--impl composed|fused] [--device cpu|cuda|cuda:N]\n"
     "                 [--save auto|all|checkpoints] [--checkpoint-every K] [--bf16-iterates]\n"
     "                 [--grad-output G.npy --grad-logits-out GO.npy]\n\n"
     "Reads logits o [N, C, H, W] (float32 or float64; the output has that dtype) and writes\n"
     "the final iterate u_T = softmax(z_T) of the block (see docs/unrolled-variational-layers.md):\n"
     "  none  softmax(o / eps)\n"
     "  std   Algorithm 1: u_{t+1} = softmax((o - lambda k*(1 - 2u_t)) / eps), u_0 = softmax(o/eps)\n"
     "  vp    Algorithm 2 with volumes V [N, C] in pixels (--volumes, required)\n"
     "  ss    Algorithm 3 with star class I and centres [N, 2] = (cx, cy) in pixels\n"
     "        (--centers; the centroid of u_0 of class I when omitted)\n"
     "k is the K x K Gaussian of width sigma, normalised to sum 1, zero padding.\n"
     "Defaults: --prior std --iters 10 (50 for ss) --lambda 1 --eps 0.1 --kernel-size 7\n"
     "--sigma 5 --star-class 1 --tau eps --impl fused --device cpu --save auto.\n"
     "--save is what the fused form keeps for its backward: every iterate (all), or every\n"
     "K-th (checkpoints, --checkpoint-every K, 0: ceil(sqrt(T))), recomputing the others;\n"
     "auto: checkpoints when T > 10. --bf16-iterates (float32) keeps them as bfloat16.\n"
     "With --grad-output G ([N, C, H, W]) it also writes GO = G^T dU/dO, the vector-Jacobian\n"
     "product of the whole block, to --grad-logits-out.\n",
     cmd_std},
    {"toy", "the paper's toy experiment (Fig. 6): softmax, STD and SS-STD on a noisy star",
     "usage: tdseg toy [--out DIR] [--size N] [--noise S] [--seed K]\n\n"
     "The toy experiment of the paper (section 4.1, Fig. 6). Draws an N x N image v of a\n"
     "five-armed star (intensity 1) on a background (0) plus Gaussian noise of standard\n"
     "deviation S, forms the features o_i = -1/2 (v - mu_i)^2 with mu the 2-means centres of\n"
     "the pixel values, and segments v into 2 classes with softmax (no prior), STD (T = 10)\n"
     "and SS-STD (T = 50, the star's known centre as the centre). Parameters: eps 0.25,\n"
     "lambda 1, kernel 13x13, sigma 1.5, tau = eps (eps is above the paper's 0.1 because these\n"
     "logits are of order 1; see tools/tdseg/toy_experiment.h).\n"
     "Prints each method's IoU against the true mask and its star-shape violation\n"
     "sum_x max(0, -s . grad u) (s the unit vector towards the centre), and STD's energy\n"
     "F + R after each iteration (Theorem 3.1: it never increases). Writes into DIR:\n"
     "  input.png                         the noisy image v\n"
     "  mask.png                          the true object\n"
     "  softmax.png, std.png, ss_std.png  u of the object class, black 0 to white 1\n"
     "                                    (ss_std.png: the centre in red)\n"
     "  figure.png                        all five side by side, titled, with IoU and\n"
     "                                    violation\n"
     "  energy.png                        the plot of F + R per STD iteration\n"
     "Defaults: --out toy-out --size 96 (16 to 2048) --noise 0.5 --seed 1.\n",
     cmd_toy},
    {"train", "train a segmentation network (no arguments: softmax vs STD on synthetic data)",
     kTrainUsage, cmd_train},
    {"eval", "evaluate a checkpoint: confusion matrix, per-class IoU, mIoU, pixel accuracy",
     kEvalUsage, cmd_eval},
    {"predict", "segment images with a checkpoint: mask, overlay and softmax-vs-STD pictures",
     kPredictUsage, cmd_predict},
};

void print_overview() {
  std::printf("tdseg %s: semantic segmentation with Soft Threshold Dynamics layers\n\n"
              "usage: tdseg COMMAND [options]     tdseg COMMAND --help\n\ncommands:\n",
              TDSEG_VERSION);
  for (const Command& c : kCommands) std::printf("  %-9s %s\n", c.name, c.summary);
}

int run(int argc, char** argv) {
  if (argc < 2) {
    print_overview();
    return 0;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_overview();
    return 0;
  }
  for (const Command& c : kCommands) {
    if (name != c.name) continue;
    Args args(std::vector<std::string>(argv + 2, argv + argc), c.name);
    if (args.help()) {
      std::fputs(c.usage, stdout);
      return 0;
    }
    return c.run(args);
  }
  throw UsageError("unknown command '" + name + "' (see tdseg --help)");
}

}  // namespace
}  // namespace tdseg::cli

int main(int argc, char** argv) {
  try {
    return tdseg::cli::run(argc, argv);
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "tdseg: error: out of memory\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tdseg: error: %s\n", e.what());
  }
  return 2;
}
