// A run's history: the JSON-lines log (log.jsonl) of every logged step and evaluation,
// one object per line,
//   {"iter": 10, "loss": 1.23, "lr": 0.0497, "images_per_s": 310.2, "elapsed_s": 4.1,
//    "loader_wait_s": 0.002}
// (loader_wait_s: the seconds a step of the window waited for its batch, their mean; and
// on a GPU "peak_mib": the most device memory in use during the steps since the previous
// line, by the caching allocator's count)
//   {"iter": 500, "val_miou": 0.61, "val_pixel_accuracy": 0.93, "eval_s": 2.0}
// and the curves drawn from it (curves.png: the loss and the validation mIoU against
// the iteration, one plot above the other).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tdseg {

struct History {
  struct Step {
    int64_t iter;
    double loss, lr, images_per_s, elapsed_s;
    double loader_wait_s;  // per step, the window's mean (0 in logs written before it)
    std::optional<double> peak_mib;  // runs on a GPU
  };
  struct Eval {
    int64_t iter;
    double miou, pixel_accuracy, seconds;
  };
  std::vector<Step> steps;
  std::vector<Eval> evals;
};

class RunLog {
 public:
  // A fresh log at `path`, or (resume_step >= 0) the existing one cut after the entries
  // of iterations <= resume_step, so that a resumed run's log continues the original. A
  // torn last line (a crash while it was appended) is dropped; any other line that is not
  // a log entry is an IOError naming the file.
  RunLog(std::string path, int64_t resume_step);
  void step(const History::Step& s);
  void eval(const History::Eval& e);
  const History& history() const { return history_; }

 private:
  void append(const nlohmann::json& line) const;
  std::string path_;
  History history_;
};

// Writes curves.png; a ValueError when there is nothing to draw.
void write_curves(const std::string& path, const History& history);

}  // namespace tdseg
