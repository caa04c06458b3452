// Checkpoints: a Module's parameters and buffers (e.g. batch-norm running statistics) in a
// safetensors file (core/safetensors.h), each under its hierarchical name
// ("stem_bn.running_mean"), parameters first, in Module::named_parameters() order.
//
// Loading copies the file's data into the module's existing tensors in place (the layers
// share their storage), never replacing a handle, and records nothing in the autograd
// graph. A tensor of the module matches one of the file when name, dtype and shape are
// equal; a dtype is never converted.
//   Strict   every module tensor matches one of the file and the file has no other:
//            otherwise an IOError listing the differences, before anything is copied, e.g.
//            "model.ckpt: 2 missing (a.weight, b.bias), 1 unexpected (c.w), 1 mismatched
//            (logits.weight: file float32[21, 8, 1, 1], model float32[5, 8, 1, 1])"
//   Partial  copies every matching tensor and reports the rest: fine-tuning from a model
//            with another number of classes.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "layers/module.h"

namespace tdseg {

enum class LoadMode { Strict, Partial };

struct LoadReport {
  struct Mismatch {
    std::string name, file, model;  // file and model: "float32[5, 8, 1, 1]"
  };
  std::vector<std::string> loaded;      // in module order
  std::vector<std::string> missing;     // in the module, not in the file; module order
  std::vector<std::string> unexpected;  // in the file, not in the module; file order
  std::vector<Mismatch> mismatched;     // same name, another dtype or shape; module order

  bool complete() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
  // "2 missing (a.weight, b.bias), 1 mismatched (...)": the non-empty lists, each cut after
  // a few names with "... and K more"; "" when complete().
  std::string summary() const;
};

void save_checkpoint(const std::string& path, const Module& m,
                     const std::map<std::string, std::string>& metadata = {});
LoadReport load_checkpoint(const std::string& path, Module& m, LoadMode mode);

}  // namespace tdseg
