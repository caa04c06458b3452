// Wall-clock timing for the CPU commands: medians over repeated runs.
#pragma once
#include <algorithm>
#include <chrono>
#include <vector>

namespace tdseg::cli {

inline double now_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Median milliseconds of fn() over `repeat` runs, after one untimed warm-up run.
template <typename Fn>
double median_ms(int repeat, Fn&& fn) {
  fn();
  std::vector<double> t;
  for (int i = 0; i < repeat; ++i) {
    const double t0 = now_ms();
    fn();
    t.push_back(now_ms() - t0);
  }
  return median(t);
}

}  // namespace tdseg::cli
