// The CUDA twins of the STD blocks' data (std_extras.h): the star field, the centroids and
// the edge weight, computed where their input lives, so that an SS-STD or edge-weighted
// head on a GPU copies nothing through the host. The same arithmetic as the CPU's (double,
// cast to T at the end), the same conventions. Inputs are contiguous on one device;
// std_extras.cpp validates them and calls these with outputs of the right shape there.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace tdseg::cuda {

void star_field(const Tensor& centers, const Tensor& s);               // [N, 2] -> [N, 2, H, W]
void star_centroids(const Tensor& u, int64_t star, const Tensor& c);  // [N, C, H, W] -> [N, 2]
void edge_weight(const Tensor& image, const Tensor& e);               // [N, C, H, W] -> [N, 1, H, W]

}  // namespace tdseg::cuda
