// The loader: batches of augmented, normalised samples, decoded by worker threads ahead
// of the consumer (prefetch), in a deterministic order for a given seed.
// Augmentation as in the DeepLab reference (input_preprocess.py) for training: random
// scale in [min_scale, max_scale], pad to the crop size with the mean pixel (image) and
// 255 (mask), random crop, horizontal flip; evaluation: a pad at the bottom and right to
// the crop size (an image larger than the crop is an error), or nothing with crop 0x0
// (then a batch's images must share a size: batch size 1 for VOC). Then (image - mean) /
// std per channel (data/augment.h has the details).
// Training (augment) cycles through epochs without end, reshuffling each (with shuffle);
// evaluation makes one pass. Batch b is the same whatever the thread timing: a function
// of (dataset, options, b) only.
#pragma once
#include <array>
#include <memory>

#include "data/dataset.h"

namespace tdseg {

struct Batch {
  Tensor images;              // float32 [N, 3, H, W], normalised
  Tensor masks;               // int32 [N, H, W]
  Tensor volumes;             // float32 [N, C]: pixels per class of the (augmented) mask
  Tensor centers;             // float32 [N, 2]: (cx, cy) centroid of the star class, or the
                              // image centre ((W-1)/2, (H-1)/2) when absent from the mask
                              // (defined when the dataset has a star class, else undefined)
  std::vector<std::string> ids;
};

struct LoaderOptions {
  int64_t batch_size = 8;
  std::array<int64_t, 2> crop{65, 65};  // (H, W)
  bool augment = true;                  // training augmentation; false: evaluation
  bool shuffle = true;
  double min_scale = 0.5, max_scale = 2.0;
  std::array<float, 3> mean{127.5f, 127.5f, 127.5f};  // the reference: [-1, 1] inputs
  std::array<float, 3> std{127.5f, 127.5f, 127.5f};
  uint64_t seed = 0;
  int workers = 2;                      // 0: decode on the calling thread, in next()
  int prefetch = 4;                     // batches decoded ahead
  bool drop_last = true;                // drop each epoch's last, partial batch
  bool pin_memory = false;              // images and masks in pinned host memory, so that
                                        // their copy to a GPU is not waited for (CUDA only)
};

class Loader {
 public:
  Loader(const Dataset& dataset, const LoaderOptions& options);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // The next batch; cycles through epochs forever when training (drop_last), or returns
  // false at the end of one pass when evaluating. Worker errors are rethrown here, in
  // order: the batches before the failed one are delivered first, and the failed one's
  // error is rethrown by every later call (until skip()).
  bool next(Batch& batch);
  int64_t batches_per_epoch() const;
  // Skips ahead so that the next batch is the one after `batches` from the start: resume.
  void skip(int64_t batches);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tdseg
