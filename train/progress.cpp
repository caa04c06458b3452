#include "train/progress.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/error.h"

namespace tdseg {

std::string format_duration(double seconds) {
  const int64_t s = std::isfinite(seconds) && seconds > 0 ? std::llround(seconds) : 0;
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  return buf;
}

Progress::Progress(int64_t total, std::FILE* out)
    : total_(total), out_(out), tty_(out && isatty(fileno(out))) {}

void Progress::update(int64_t step, double loss, double lr, double images_per_s,
                      double loader_wait, double eta_s, std::optional<double> peak_mib) {
  if (!out_) return;
  const double now =
      std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  if (!tty_ && step < total_ && now - last_line_ < 5) return;
  last_line_ = now;
  constexpr int kBar = 24;
  const int filled = static_cast<int>(kBar * step / std::max<int64_t>(total_, 1));
  const std::string bar = std::string(filled, '#') + std::string(kBar - filled, '.');
  const std::string memory = peak_mib ? cat("  peak ", std::llround(*peak_mib), " MiB") : "";
  std::fprintf(out_,
               "%s[%s] %*lld/%lld  loss %.4f  lr %.2e  %.1f img/s (loader wait %.0f%%)%s  ETA %s%s",
               tty_ ? "\r" : "", bar.c_str(), static_cast<int>(std::to_string(total_).size()),
               static_cast<long long>(step), static_cast<long long>(total_), loss, lr, images_per_s,
               100 * loader_wait, memory.c_str(), format_duration(eta_s).c_str(),
               tty_ ? "\x1b[K" : "\n");
  open_ = tty_;
  std::fflush(out_);
}

void Progress::note(const std::string& line) {
  if (!out_) return;
  finish();
  std::fprintf(out_, "%s\n", line.c_str());
  std::fflush(out_);
}

void Progress::finish() {
  if (out_ && open_) std::fputc('\n', out_);
  open_ = false;
}

}  // namespace tdseg
