// Attention maps: a forward pass in eval mode that keeps the decoder's map, then resize and sigmoid.
#include "models/attention_map.h"

#include "engine/ops/activation.h"
#include "engine/ops/resample.h"

namespace cmt::models {

Tensor attention_decoder_map(Context& ctx, CmtModel& model, const Tensor& images) {
  layers::AttentionDecoder* decoder = model.attention_decoder();
  CMT_CHECK(decoder != nullptr, "attention map: the model " << model.describe() << " has no attention head (train with attention_head)");
  decoder->set_keep_map(true);
  try {
    (void)model.embed(ctx, images);
  } catch (...) {
    decoder->set_keep_map(false);
    throw;
  }
  decoder->set_keep_map(false);
  return decoder->last_map();
}

Tensor attention_map_of(Context& ctx, const Tensor& u, std::int64_t d, std::int64_t h, std::int64_t w) {
  // Growing needs no antialiasing; PyTorch's interpolate(..., align_corners=False) is the same filter.
  return ops::sigmoid(ctx, ops::resample(ctx, u, d, h, w, false));
}

Tensor attention_map(Context& ctx, CmtModel& model, const Tensor& images) {
  CMT_CHECK(images.rank() == 5, "attention map: images must be (N, D, H, W, C), got " << images.describe());
  return attention_map_of(ctx, attention_decoder_map(ctx, model, images), images.dim(1), images.dim(2), images.dim(3));
}

}  // namespace cmt::models
