// Grad-CAM (Selvaraju et al., 2017) and Grad-CAM++ (Chattopadhay et al., 2018) of a CMT-CNN on the
// output of its backbone's last stage (docs/explain.md). Pure functions of tensors: images in, maps
// out, so that other code (scores of maps against lesion masks, comparisons) can call them.
#pragma once
#include <array>
#include <string>
#include <vector>

#include "engine/context.h"
#include "engine/tensor.h"
#include "models/cmt_model.h"

namespace cmt::models {

enum class CamMethod { gradcam, gradcam_pp };
CamMethod parse_cam_method(const std::string& name);  // "gradcam" or "gradcampp"; anything else throws
std::string cam_method_name(CamMethod method);

// features A and their gradient dA, (N, d, h, w, C) f32 -> the maps ReLU(sum_k alpha_k A_k), (N, d, h, w)
// f32 on the host. Grad-CAM: alpha_k = mean of dA_k. Grad-CAM++: alpha_k = sum over positions of
// a * ReLU(dA_k), a = dA^2 / (2 dA^2 + sum(A_k) dA^3) (0 where dA = 0), as pytorch-grad-cam computes it.
Tensor class_activation_map(const Tensor& features, const Tensor& gradient, CamMethod method);

// maps (N, d, h, w) -> (N, size) on the host: bilinear (d = D = 1) or trilinear resampling
// (align_corners = false) on the context's device, then each map scaled to [0, 1] (0 when constant).
Tensor upsample_map(Context& ctx, const Tensor& maps, const std::array<std::int64_t, 3>& size);

struct CamResult {
  Tensor maps;               // (N, D, H, W) f32 on the host, in [0, 1], the images' size
  Tensor cams;               // (N, d, h, w) f32 on the host: the maps at the feature map's size, before scaling
  Tensor logits;             // (N, classes) f32 on the host
  Tensor latent;             // (N, d) f32 on the host: the latent r of the same forward pass
  std::vector<int> classes;  // the class each map explains
};

// images (N, D, H, W, 1) on the context's device, preprocessed as for prediction. classes: one per
// image, -1 (or an empty list) for the predicted class. The model runs in eval mode.
CamResult grad_cam(Context& ctx, CmtModel& model, const Tensor& images, CamMethod method, const std::vector<int>& classes = {});

}  // namespace cmt::models
