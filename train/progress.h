// The training progress line: iteration, loss, learning rate, images/s, the share of the
// step time spent waiting for the loader, the estimated time to the end and, on a GPU,
// the window's peak device memory. On a terminal one line is redrawn in place ('\r'); otherwise (a log
// file, a pipe) an update is a line of its own, at most one every 5 seconds (and the last).
#pragma once
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

namespace tdseg {

class Progress {
 public:
  Progress(int64_t total, std::FILE* out);  // out null: silent
  void update(int64_t step, double loss, double lr, double images_per_s, double loader_wait,
              double eta_s, std::optional<double> peak_mib = std::nullopt);
  // A line of its own (e.g. an evaluation's result), not overwritten by the bar.
  void note(const std::string& line);
  void finish();  // ends a redrawn line

 private:
  int64_t total_;
  std::FILE* out_;
  bool tty_, open_ = false;
  double last_line_ = -1e9;  // when the last non-terminal line was written, in seconds
};

// "1:05" or "1:02:03".
std::string format_duration(double seconds);

}  // namespace tdseg
