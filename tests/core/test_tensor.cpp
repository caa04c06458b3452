// Tensor: creation, strides, alignment, views that share storage, dtype conversion and
// the errors of misuse.
#include <gtest/gtest.h>

#include <cstdint>

#include "core/tensor.h"
#include "tests/check_close.h"

namespace tdseg::testing {
namespace {

TEST(Device, NamesParseAndAnythingElseDoesNot) {
  EXPECT_EQ(parse_device("cpu"), Device::cpu());
  EXPECT_EQ(parse_device("cuda"), Device::cuda(0));
  EXPECT_EQ(parse_device("cuda:0"), Device::cuda(0));
  EXPECT_EQ(parse_device("cuda:13"), Device::cuda(13));
  EXPECT_EQ(parse_device(Device::cuda(7).str()), Device::cuda(7));
  for (const char* bad : {"", "gpu", "CPU", "cuda:", "cuda:-1", "cuda:01", "cuda:1x", "cuda: 1",
                          "cuda:12345", "cpu:0", "cudax"})
    EXPECT_FALSE(parse_device(bad).has_value()) << "'" << bad << "'";
}

TEST(Tensor, ContiguousNchwStrides) {
  Tensor t = Tensor::zeros({2, 3, 5, 7});
  EXPECT_EQ(t.strides(), (Shape{105, 35, 7, 1}));
  EXPECT_EQ(t.numel(), 210);
  EXPECT_EQ(t.size(-1), 7);
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(t.str(), "float32[2, 3, 5, 7] on cpu");
}

TEST(Tensor, CpuMemoryIs64ByteAligned) {
  for (int64_t n : {1, 3, 17, 1000}) {
    Tensor t = Tensor::empty({n}, DType::Float64);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data_ptr()) % 64, 0u);
  }
}

TEST(Tensor, ReshapeAndFlattenAreViews) {
  Generator gen(1);
  Tensor t = Tensor::randn({2, 3, 4}, gen);
  Tensor v = t.reshape({6, -1});
  EXPECT_EQ(v.shape(), (Shape{6, 4}));
  EXPECT_EQ(v.data_ptr(), t.data_ptr());
  v.data<float>()[5] = 42.f;
  EXPECT_EQ(t.data<float>()[5], 42.f);
  EXPECT_EQ(t.flatten(1).shape(), (Shape{2, 12}));
  EXPECT_EQ(t.flatten().shape(), (Shape{24}));
}

TEST(Tensor, CloneAndConversionCopy) {
  Generator gen(2);
  Tensor t = Tensor::randn({3, 5}, gen, DType::Float64);
  Tensor c = t.clone();
  EXPECT_NE(c.data_ptr(), t.data_ptr());
  EXPECT_TRUE(all_close(c, t, 0, 0));
  Tensor f = t.to(DType::Float32);
  EXPECT_EQ(f.dtype(), DType::Float32);
  EXPECT_TRUE(all_close(f, t, 1e-6, 1e-6));
  EXPECT_EQ(Tensor::full({}, 2.5, DType::Float64).item(), 2.5);
}

TEST(Tensor, RandomIsSeededAndNotConstant) {
  Generator a(7), b(7);
  Tensor x = Tensor::randn({100}, a), y = Tensor::randn({100}, b);
  EXPECT_TRUE(all_close(x, y, 0, 0));
  EXPECT_NE(x.data<float>()[0], x.data<float>()[1]);
}

TEST(TensorErrors, MessagesNameShapesAndTypes) {
  Tensor t = Tensor::zeros({2, 3});
  EXPECT_THROW_MSG(t.reshape({4, 2}), ShapeError, "reshape: [2, 3] (6 elements) cannot become [4, 2]");
  EXPECT_THROW_MSG(t.reshape({-1, -1}), ShapeError, "reshape: more than one -1 in [-1, -1]");
  EXPECT_THROW_MSG(t.data<double>(), DTypeError, "data: tensor is float32, accessed as float64");
  EXPECT_THROW_MSG(t.item(), ShapeError, "item: tensor float32[2, 3] on cpu has 6 elements, not 1");
  EXPECT_THROW_MSG(Tensor::zeros({2, -1}), ShapeError, "tensor: negative size in shape [2, -1]");
  EXPECT_THROW_MSG(Tensor().shape(), Error, "tensor: use of an undefined tensor");
  EXPECT_THROW_MSG(Tensor::zeros({2}, DType::Int32).set_requires_grad(true), DTypeError,
                   "is not floating point");
  // A device no machine here has (the GPU machine has one): its name is in the error.
  EXPECT_THROW_MSG(Tensor::empty({2}, DType::Float32, Device::cuda(15)), DeviceError, "cuda:15");
}

}  // namespace
}  // namespace tdseg::testing
