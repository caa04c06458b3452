// concat, on the CPU or on a GPU through copy_rows' CUDA twin (cuda/ops/concat.cu).
// Viewing each input as [outer, size_i * inner] with outer the product of the dims before
// `dim` and inner of those after it, the output row o is the inputs' rows o laid end to
// end; backward cuts the gradient's rows back into the same pieces.
#include "core/ops/concat.h"

#include <cstring>

#include "core/autograd.h"
#include "core/ops/checks.h"
#include "core/ops/rows.h"

namespace tdseg::ops {

namespace {

struct ConcatBackward : Node {
  int dim;
  explicit ConcatBackward(int d) : dim(d) {}
  const char* name() const override { return "concat"; }
  std::vector<Tensor> backward(const Tensor& dy_in) override {
    Tensor dy = dy_in.contiguous();
    const Rows l = rows_around(dy.shape(), dim);
    const int64_t total = dy.size(dim);
    const size_t es = dtype_size(dy.dtype());
    std::vector<Tensor> grads;
    int64_t at = 0;
    for (const Tensor& x : inputs) {
      const int64_t piece = x.size(dim) * l.inner * es;
      if (x.requires_grad()) {
        Tensor g = Tensor::empty(x.shape(), x.dtype(), dy.device());
        copy_rows(dy.device(), static_cast<char*>(g.data_ptr()), piece,
                  static_cast<const char*>(dy.data_ptr()) + at, total * l.inner * es, l.outer,
                  piece);
        grads.push_back(g);
      } else {
        grads.emplace_back();
      }
      at += piece;
    }
    return grads;
  }
};

}  // namespace

Tensor concat(const std::vector<Tensor>& xs, int dim) {
  const char* op = "concat";
  check<ValueError>(!xs.empty(), op, ": no inputs");
  const Tensor& first = xs[0];
  check_defined(op, first, "input 0");
  check<ShapeError>(dim >= 0 && dim < first.dim(), op, ": dim ", dim, " out of range for ",
                    shape_str(first.shape()));
  int64_t total = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    check_defined(op, xs[i], "an input");
    check_same_dtype(op, first, xs[i]);
    check_same_device(op, first, xs[i]);
    Shape a = first.shape(), b = xs[i].shape();
    check<ShapeError>(a.size() == b.size(), op, ": input ", i, " ", shape_str(b),
                      " has another rank than input 0 ", shape_str(a));
    a[dim] = b[dim] = 0;
    check<ShapeError>(a == b, op, ": input ", i, " ", shape_str(xs[i].shape()),
                      " differs from input 0 ", shape_str(first.shape()), " outside dim ", dim);
    total += xs[i].size(dim);
  }
  Shape out_shape = first.shape();
  out_shape[dim] = total;
  Tensor out = Tensor::empty(out_shape, first.dtype(), first.device());
  const Rows l = rows_around(out_shape, dim);
  const size_t es = dtype_size(first.dtype());
  int64_t at = 0;
  for (const Tensor& x : xs) {
    const int64_t piece = x.size(dim) * l.inner * es;
    Tensor c = x.contiguous();
    copy_rows(out.device(), static_cast<char*>(out.data_ptr()) + at, total * l.inner * es,
              static_cast<const char*>(c.data_ptr()), piece, l.outer, piece);
    at += piece;
  }
  return record(out, xs, std::make_shared<ConcatBackward>(dim));
}

}  // namespace tdseg::ops
