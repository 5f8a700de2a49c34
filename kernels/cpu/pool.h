// CPU reference of pooling on N,D,H,W,C data: max (with argmax), average, adaptive average, global average.
#pragma once
#include <cstdint>

#include "kernels/common/pool_desc.h"

namespace cmt::cpu {

// argmax: flat index d*H*W + h*W + w inside x's volume, per output element.
void maxpool_forward(const PoolDesc& d, const float* x, float* y, std::int32_t* argmax);
void maxpool_backward(const PoolDesc& d, const float* dy, const std::int32_t* argmax, float* dx);
void avgpool_forward(const PoolDesc& d, const float* x, float* y);     // divides by k0*k1*k2
void avgpool_backward(const PoolDesc& d, const float* dy, float* dx);
// Adaptive: d.out gives the bins; k/s/p are ignored.
void adaptive_avgpool_forward(const PoolDesc& d, const float* x, float* y);
void adaptive_avgpool_backward(const PoolDesc& d, const float* dy, float* dx);

}  // namespace cmt::cpu
