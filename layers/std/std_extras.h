// The data an STD block may take besides the logits: star fields and centres (SS-STD),
// target volumes (VP-STD) and the edge weight of section 3.3. None carries a gradient.
// Each is computed on the device of its input: on the host, or by its CUDA twin
// (std_extras_cuda.h).
#pragma once
#include "core/tensor.h"

namespace tdseg {

// s(x) = (c - x) / |c - x| and 0 where x = c, for pixel x = (column, row) and centres
// c = (cx, cy) [N, 2]: out [N, 2, H, W], channel 0 the column (x) component, 1 the row (y).
Tensor star_field(const Tensor& centers, int64_t H, int64_t W);

// The centroid (cx, cy) of u[:, star_class] per image, [N, 2]: the SS-STD centre when
// none is given (computed from u_0 and treated as a constant, no gradient through it).
Tensor star_centroids(const Tensor& u, int64_t star_class);

// Pixel counts per class of a label map [N, H, W] (int32; 255 ignored), as [N, C].
Tensor volumes_from_labels(const Tensor& labels, int64_t classes, DType dtype);

// ratios [C] (or [N, C]) of the image area, as volumes [N, C] in pixels: ratio * H * W.
Tensor volumes_from_ratios(const Tensor& ratios, int64_t N, int64_t H, int64_t W);

// e(x) = 1 / (1 + |grad v0(x)|) for an image [N, Ci, H, W], v0 its mean over channels and
// grad the forward difference (0 on the last column and row): [N, 1, H, W] in (0, 1].
Tensor edge_weight(const Tensor& image);

}  // namespace tdseg
