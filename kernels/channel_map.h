// Channel maps: a one-channel map per position of a channels-last tensor (the mean over the channels)
// and its broadcast back over the channels (a product with a one-channel map).
// cmt::cpu holds the CPU reference, cmt::cuda the CUDA launchers with the same contract (f32).
#pragma once
#include <cstdint>

// CPU reference. Data is (P, C) with P = N*D*H*W positions; maps are (P).
namespace cmt::cpu {

// out[p] = scale * sum_c a[p, c] * b[p, c] (b null: ones), summed in double.
void channel_reduce(const float* a, const float* b, float* out, std::int64_t positions, std::int64_t c, float scale);
// y[p, c] = scale * x[p, c] * m[p] (x null: ones).
void channel_broadcast(const float* x, const float* m, float* y, std::int64_t positions, std::int64_t c, float scale);

}  // namespace cmt::cpu

#if defined(CMT_WITH_CUDA)
#include "kernels/common/stream.h"

// CUDA launchers: one warp per position for the reduction (lanes across the channels: coalesced).
namespace cmt::cuda {

void channel_reduce(const float* a, const float* b, float* out, std::int64_t positions, std::int64_t c, float scale,
                    cudaStream_t stream);
void channel_broadcast(const float* x, const float* m, float* y, std::int64_t positions, std::int64_t c, float scale,
                       cudaStream_t stream);

}  // namespace cmt::cuda
#endif  // CMT_WITH_CUDA
