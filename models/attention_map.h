// The attention map of the paper's Fig. 5: the attention decoder's up-sampled map U of the last
// feature map, resized to the input (bilinear in 2D, trilinear in 3D, align_corners false, like
// PyTorch's interpolate) and passed through a sigmoid. For `cmt predict --attention-out` and any
// other caller that wants "model + input -> map".
#pragma once
#include "engine/context.h"
#include "engine/tensor.h"
#include "models/cmt_model.h"

namespace cmt::models {

// images (N, D, H, W, C) as the model takes them -> (N, D, H, W, 1) f32 in (0, 1) on ctx's device.
// The model runs in eval mode (running BN statistics). Throws when it was built without attention_head.
Tensor attention_map(Context& ctx, CmtModel& model, const Tensor& images);

// The same without the resize and sigmoid: U itself, (N, 4*D, 4H, 4W, 1) in 3D and (N, 1, 4H, 4W, 1)
// in 2D for a last feature map of (N, D, H, W, C).
Tensor attention_decoder_map(Context& ctx, CmtModel& model, const Tensor& images);

// The last step alone: U (N, D', H', W', 1) -> sigmoid(resize(U)) (N, d, h, w, 1).
Tensor attention_map_of(Context& ctx, const Tensor& u, std::int64_t d, std::int64_t h, std::int64_t w);

}  // namespace cmt::models
