// Seeded random numbers for parameter initialisation and tests. One Generator per use,
// passed explicitly: no global state, so a run is reproducible from its seed.
#pragma once
#include <cstdint>
#include <random>

namespace tdseg {

class Generator {
 public:
  explicit Generator(uint64_t seed) : engine_(seed) {}
  double normal() { return normal_(engine_); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform_(engine_); }
  int64_t integer(int64_t lo, int64_t hi) {  // uniform in [lo, hi]
    return std::uniform_int_distribution<int64_t>(lo, hi)(engine_);
  }

 private:
  std::mt19937_64 engine_;
  std::normal_distribution<double> normal_{0.0, 1.0};
  std::uniform_real_distribution<double> uniform_{0.0, 1.0};
};

}  // namespace tdseg
