// The toy experiment of the paper (section 4.1, Fig. 6): a noisy image of a non-convex
// star-shaped object with a known mask, segmented into 2 classes from the features
//   o_i(x) = -1/2 (v(x) - mu_i)^2,   mu = the 2-means centres of the pixel values,
// by softmax (no prior), STD (Algorithm 1) and SS-STD (Algorithm 3, the object's known
// centre as the star centre), each scored by its IoU against the true mask and by its
// star-shape violation; plus the STD energy F + R per iteration (Theorem 3.1).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tdseg::cli {

// The image is 0 on the background and 1 on the object, plus N(0, noise^2) per pixel.
// eps: the logit gap o_1 - o_0 = (mu_1 - mu_0) (v - (mu_0 + mu_1) / 2) scales with this
// contrast; at the default noise 2-means gives mu ~ (-0.2, 0.9), so the gap is about +0.7
// on a clean object pixel and -0.35 on a clean background pixel. The paper's eps = 0.1
// would turn that into softmax weights e^7 and e^-3.5, almost a hard threshold; eps = 0.25
// keeps softmax soft (u_1 ~ 0.95 and 0.19).
// lambda = 1 lets the regulariser's gap 2 lambda k*(u_1 - u_0) outweigh the noise.
// sigma = 1.5 with K = 13 (+-4 sigma): the truncated Gaussian is still positive
// semi-definite (sigma = 2 would not be), as Theorem 3.1 asks.
struct ToyConfig {
  int64_t size = 96;      // N: the image is N x N
  double noise = 0.5;     // S: the noise's standard deviation
  uint64_t seed = 1;
  double eps = 0.25;
  double lambda = 1.0;
  int64_t kernel_size = 13;  // K
  double sigma = 1.5;
  int64_t std_iters = 10;  // T of STD, as in the paper
  int64_t ss_iters = 50;   // T of SS-STD, as in the paper (tau = eps)
};

struct ToyMethod {
  std::string name;  // "softmax", "STD", "SS-STD"
  Tensor u;          // the soft segmentation [1, 2, N, N], float64
  double iou;        // of the object: {u_object > 1/2} against the true mask
  double violation;  // star_violation of u_object around the true centre
};

struct ToyResult {
  Tensor image;             // v [1, 1, N, N], float64
  Tensor mask;              // the true object [N, N], int32 (1 inside)
  double cx, cy;            // the object's centre, pixels (column, row)
  double mu[2];             // 2-means centres, ascending: class 1 is the (bright) object
  std::vector<ToyMethod> methods;  // softmax, STD, SS-STD
  std::vector<double> energy;      // STD's F + R after t = 0 .. std_iters iterations
};

// Throws ValueError for a size below 8 or a negative or non-finite noise.
ToyResult run_toy(const ToyConfig& config);

}  // namespace tdseg::cli
