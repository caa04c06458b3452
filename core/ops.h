// Every differentiable op of the engine. Each lives in core/ops/<name>.{h,cpp} with its
// CPU forward and backward side by side; see the header of each for the exact formula.
#pragma once
#include "core/ops/batch_norm.h"
#include "core/ops/broadcast.h"
#include "core/ops/concat.h"
#include "core/ops/conv2d.h"
#include "core/ops/cross_entropy.h"
#include "core/ops/dropout.h"
#include "core/ops/elementwise.h"
#include "core/ops/gaussian.h"
#include "core/ops/image_grad.h"
#include "core/ops/loss.h"
#include "core/ops/pointwise.h"
#include "core/ops/pooling.h"
#include "core/ops/reduce.h"
#include "core/ops/resize.h"
#include "core/ops/scalar.h"
#include "core/ops/softmax.h"
