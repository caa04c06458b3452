// The pictures of `tdseg toy`: each image as a panel (the N x N values zoomed to at least
// 288 pixels a side, black = 0 to white = 1), the figure (all panels side by side, the
// parameters above, a title under each panel) and the plot of STD's energy.
#pragma once
#include <string>
#include <vector>

#include "tools/tdseg/toy_experiment.h"

namespace tdseg::cli {

// Writes input.png, mask.png, softmax.png, std.png, ss_std.png, figure.png and energy.png
// into the folder `dir`, which must exist; returns their paths.
std::vector<std::string> write_toy_pictures(const ToyResult& result, const ToyConfig& config,
                                            const std::string& dir);

}  // namespace tdseg::cli
