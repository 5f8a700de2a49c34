// Grad-CAM and Grad-CAM++ from the feature map gradient of CmtModel.
#include "models/grad_cam.h"

#include <algorithm>
#include <cmath>

#include "engine/ops/resample.h"

namespace cmt::models {

CamMethod parse_cam_method(const std::string& name) {
  if (name == "gradcam") return CamMethod::gradcam;
  if (name == "gradcampp") return CamMethod::gradcam_pp;
  CMT_THROW("unknown attention map method '" << name << "' (gradcam or gradcampp)");
}

std::string cam_method_name(CamMethod method) { return method == CamMethod::gradcam ? "gradcam" : "gradcampp"; }

Tensor class_activation_map(const Tensor& features, const Tensor& gradient, CamMethod method) {
  CMT_CHECK(features.rank() == 5 && features.shape() == gradient.shape() && features.dtype() == DType::f32 &&
                gradient.dtype() == DType::f32,
            "class_activation_map: features " << features.describe() << " and gradient " << gradient.describe()
                                              << " must be f32 (N, d, h, w, C) of one shape");
  const Tensor a = features.to(Device::cpu()), g = gradient.to(Device::cpu());
  const std::int64_t n = a.dim(0), c = a.dim(4), s = a.numel() / std::max<std::int64_t>(n * c, 1);
  Tensor out = Tensor::empty(Shape{n, a.dim(1), a.dim(2), a.dim(3)}, DType::f32);
  float* cam = out.data<float>();
  for (std::int64_t i = 0; i < n; ++i) {
    const float* ai = a.data<float>() + i * s * c;
    const float* gi = g.data<float>() + i * s * c;
    std::vector<double> alpha(static_cast<std::size_t>(c), 0.0), sum_a(static_cast<std::size_t>(c), 0.0);
    for (std::int64_t p = 0; p < s; ++p)
      for (std::int64_t k = 0; k < c; ++k) sum_a[static_cast<std::size_t>(k)] += ai[p * c + k];
    for (std::int64_t p = 0; p < s; ++p) {
      for (std::int64_t k = 0; k < c; ++k) {
        const double d = gi[p * c + k];
        if (method == CamMethod::gradcam) {
          alpha[static_cast<std::size_t>(k)] += d / static_cast<double>(s);
        } else if (d != 0) {
          const double d2 = d * d, d3 = d2 * d;
          const double w = d2 / (2 * d2 + sum_a[static_cast<std::size_t>(k)] * d3 + 1e-7);
          alpha[static_cast<std::size_t>(k)] += w * std::max(d, 0.0);
        }
      }
    }
    for (std::int64_t p = 0; p < s; ++p) {
      double v = 0;
      for (std::int64_t k = 0; k < c; ++k) v += alpha[static_cast<std::size_t>(k)] * ai[p * c + k];
      cam[i * s + p] = static_cast<float>(std::max(v, 0.0));
    }
  }
  return out;
}

Tensor upsample_map(Context& ctx, const Tensor& maps, const std::array<std::int64_t, 3>& size) {
  CMT_CHECK(maps.rank() == 4 && maps.dtype() == DType::f32,
            "upsample_map: maps must be f32 (N, d, h, w), got " << maps.describe());
  const Tensor x = maps.view(Shape{maps.dim(0), maps.dim(1), maps.dim(2), maps.dim(3), 1}).to(ctx.device());
  // No antialiasing: the maps only grow, and PyTorch's interpolate (the reference) has none by default.
  const Tensor up = ops::resample(ctx, x, size[0], size[1], size[2], /*antialias=*/false);
  return ops::minmax_scale(ctx, up).to(Device::cpu()).view(Shape{maps.dim(0), size[0], size[1], size[2]});
}

CamResult grad_cam(Context& ctx, CmtModel& model, const Tensor& images, CamMethod method, const std::vector<int>& classes) {
  CMT_CHECK(images.rank() == 5 && images.dim(4) == 1, "grad_cam: images must be (N, D, H, W, 1), got " << images.describe());
  CmtModel::FeatureMapGradient fg = model.feature_map_gradient(ctx, images, classes);
  CamResult r;
  r.cams = class_activation_map(fg.features, fg.gradient, method);
  r.maps = upsample_map(ctx, r.cams, {images.dim(1), images.dim(2), images.dim(3)});
  r.logits = fg.logits;
  r.latent = fg.latent;
  r.classes = fg.classes;
  return r;
}

}  // namespace cmt::models
