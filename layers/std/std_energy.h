// Diagnostics of the STD blocks, summed over the batch:
//   std_energy      F + R = <-o, u> + eps <u, ln u> + lambda <u, k*(1 - u)>  (section 3.3,
//                   e = 1), the energy Theorem 3.1 says never increases over STD iterations
//                   when k is positive semi-definite;
//   star_violation  sum_x max(0, -s(x) . grad u_i(x)), zero exactly when u_i decreases
//                   along every ray from the centre (the set P of section 3.5).
#pragma once
#include "core/tensor.h"

namespace tdseg {

double std_energy(const Tensor& u, const Tensor& o, double eps, double lambda, int64_t kernel_size,
                  double sigma);

double star_violation(const Tensor& u, const Tensor& centers, int64_t star_class);

}  // namespace tdseg
