// CMT-CNN: forward of the two views, both losses, and the backward pass of Eq. 9.
#include "models/cmt_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "engine/ops/basic.h"
#include "engine/ops/cross_entropy.h"
#include "engine/ops/ntxent.h"
#include "engine/profiler.h"

namespace cmt::models {

namespace {
// Host-side row shuffles of small (2N, K) or (2N) tensors, for the first-view-only classification.
Tensor even_rows(const Tensor& t) {
  const Tensor h = t.to(Device::cpu());
  const std::int64_t n = h.dim(0) / 2, row = h.numel() / std::max<std::int64_t>(h.dim(0), 1);
  Shape s = h.shape();
  s[0] = n;
  Tensor out = Tensor::empty(s, h.dtype());
  const std::size_t bytes = static_cast<std::size_t>(row) * dtype_size(h.dtype());
  for (std::int64_t i = 0; i < n; ++i)
    std::memcpy(static_cast<char*>(out.raw()) + i * bytes, static_cast<const char*>(h.raw()) + 2 * i * bytes, bytes);
  return out;
}

// (N, K) -> (2N, K): row i at 2i and 2i+1 (interleave) or at 2i with zeros at 2i+1 (scatter).
Tensor spread_rows(const Tensor& t, bool duplicate) {
  const Tensor h = t.to(Device::cpu());
  Shape s = h.shape();
  s[0] *= 2;
  Tensor out = Tensor::empty(s, h.dtype());
  const std::size_t bytes = static_cast<std::size_t>(h.numel() / std::max<std::int64_t>(h.dim(0), 1)) * dtype_size(h.dtype());
  for (std::int64_t i = 0; i < h.dim(0); ++i) {
    const char* src = static_cast<const char*>(h.raw()) + i * bytes;
    char* dst = static_cast<char*>(out.raw()) + 2 * i * bytes;
    std::memcpy(dst, src, bytes);
    if (duplicate) std::memcpy(dst + bytes, src, bytes);
    else std::memset(dst + bytes, 0, bytes);
  }
  return out;
}
Tensor interleave_rows(const Tensor& t) { return spread_rows(t, true); }
Tensor scatter_even_rows(const Tensor& t) { return spread_rows(t, false); }
}  // namespace

CmtModel::CmtModel(const CmtConfig& config) : config_(config) {
  CMT_CHECK(config.num_classes >= 2, "CMT-CNN: num_classes must be >= 2, got " << config.num_classes);
  CMT_CHECK(config.latent_dim >= 1, "CMT-CNN: latent_dim must be >= 1");
  CMT_CHECK(config.lambda >= 0, "CMT-CNN: lambda must be >= 0, got " << config.lambda);
  CMT_CHECK(config.tau > 0, "CMT-CNN: tau must be > 0, got " << config.tau);
  CMT_CHECK(config.class_weights.empty() || static_cast<std::int64_t>(config.class_weights.size()) == config.num_classes,
            "CMT-CNN: " << config.class_weights.size() << " class weights for " << config.num_classes << " classes");
  Backbone b = build_backbone(config.backbone);
  // VGG's latent is its first FC layer (the paper's choice), initialised as VGG's FC layers are.
  const bool vgg = config.backbone.name.rfind("vgg", 0) == 0;
  backbone_ = static_cast<layers::Sequential*>(root_.add(std::move(b.features), "backbone"));
  backbone_->set_input_grad(false);  // the images need no gradient
  // Every backbone ends in its "avgpool" (then VGG's flatten): the decoder sees the last feature map.
  if (config.attention_head)
    attention_ = static_cast<layers::AttentionDecoder*>(backbone_->insert_before(
        "avgpool", std::make_unique<layers::AttentionDecoder>(config.backbone.spatial_dims), "attention"));
  latent_ = static_cast<layers::Linear*>(root_.add(
      std::make_unique<layers::Linear>(b.feature_dim, config.latent_dim, true, vgg ? Init::normal_001 : Init::torch_default_linear,
                                       vgg ? Init::zeros : Init::torch_default_linear),
      "latent"));
  head_ = static_cast<layers::Linear*>(root_.add(std::make_unique<layers::Linear>(config.latent_dim, config.num_classes), "head"));
}

std::string CmtModel::describe() const {
  std::ostringstream os;
  os << "CMT-CNN(" << config_.backbone.name << ", " << config_.backbone.spatial_dims << "D, width " << config_.backbone.width
     << ", latent " << config_.latent_dim << ", classes " << config_.num_classes << ", lambda " << config_.lambda << ", tau "
     << config_.tau << (config_.freeze_features ? ", frozen features" : "") << (config_.attention_head ? ", attention head" : "") << ")";
  return os.str();
}

namespace {
// The step's loss slots on the device: values[slot] = src (a [1] tensor).
void store_slot(Context& ctx, Tensor& values, StepLosses::Slot slot, const Tensor& src) {
  Tensor dst = values.narrow(slot, 1);
  ops::copy(ctx, src, dst);
}
}  // namespace

const Tensor& CmtModel::class_weights(Context& ctx) {
  // Built once per device: a host-to-device copy inside every step would stall it (and break capture).
  if (!config_.class_weights.empty() && (!class_weights_.defined() || class_weights_.device() != ctx.device()))
    class_weights_ = Tensor::from_vector(config_.class_weights, Shape{config_.num_classes}).to(ctx.device());
  return class_weights_;
}

StepLosses CmtModel::train_step(Context& ctx, const Tensor& views, const Tensor& labels) {
  CMT_CHECK(ctx.training, "CMT-CNN train_step needs a training context");
  CMT_CHECK(views.rank() == 5 && views.dim(0) % 2 == 0, "CMT-CNN: views must be (2N, D, H, W, C), got " << views.describe());
  CMT_CHECK(labels.rank() == 1 && labels.dim(0) == views.dim(0), "CMT-CNN: labels " << labels.describe() << " for views " << views.describe());
  const Tensor& weights = class_weights(ctx);
  StepLosses out;
  out.values = Tensor::empty(Shape{StepLosses::slots}, DType::f32, ctx.device());
  ops::fill(ctx, out.values, 0.0);

  if (config_.freeze_features) {
    ctx.training = false;  // frozen F: running BN statistics, nothing kept for a backward pass
    const Tensor r = run_forward(ctx, *latent_, features(ctx, views));
    ctx.training = true;
    const Tensor logits = run_forward(ctx, *head_, r);
    ProfileScope loss_scope("cls_loss");
    const ops::CrossEntropyResult ce = ops::cross_entropy_forward(ctx, logits, labels, weights, config_.label_smoothing);
    run_backward(ctx, *head_, ops::cross_entropy_backward(ctx, ce, labels, weights, config_.label_smoothing, 1.0f));
    store_slot(ctx, out.values, StepLosses::classification, ce.loss);
    store_slot(ctx, out.values, StepLosses::total, ce.loss);
    out.probs = ce.probs;
    return out;
  }
  const Tensor r = run_forward(ctx, *latent_, features(ctx, views));  // (2N, d)
  const Tensor logits = run_forward(ctx, *head_, r);
  const bool distributed = comm_ != nullptr && comm_->size() > 1;
  Tensor dlogits;
  // Host values of the distributed path (it reduces scalars over ranks on the host anyway).
  double cls_host = 0, cst_host = 0, pos_host = 0;
  {
    ProfileScope loss_scope("cls_loss");
    if (config_.cls_both_views) {
      const ops::CrossEntropyResult ce = ops::cross_entropy_forward(ctx, logits, labels, weights, config_.label_smoothing);
      out.probs = ce.probs;
      if (!distributed) {
        store_slot(ctx, out.values, StepLosses::classification, ce.loss);
        dlogits = ops::cross_entropy_backward(ctx, ce, labels, weights, config_.label_smoothing, config_.cls_weight);
      } else {
        // Global mean of L_cls: this rank's share is loss_local * ws_local / ws_global (ws: the loss's
        // denominator, the row count when unweighted). Gradients are averaged over ranks afterwards.
        const double world = comm_->size();
        const double ws_local = ops::item(ce.weight_sum);
        const double ws_global = comm_->all_reduce_scalar(ws_local);
        const double share = ws_local / ws_global;
        cls_host = comm_->all_reduce_scalar(ops::item(ce.loss) * share);
        dlogits = ops::cross_entropy_backward(ctx, ce, labels, weights, config_.label_smoothing,
                                              static_cast<float>(config_.cls_weight * world * share));
      }
    } else {
      CMT_CHECK(!distributed, "CMT-CNN: classification over the first view only (cls_views=first) runs on one process");
      // L_cls over the first view of each sample: the (2N, classes) logits are tiny, so the rows are
      // picked and the gradient scattered back on the host (this ablation is not a graph-captured path).
      const Tensor first = even_rows(logits).to(ctx.device());
      const Tensor first_labels = even_rows(labels).to(ctx.device());
      const ops::CrossEntropyResult ce = ops::cross_entropy_forward(ctx, first, first_labels, weights, config_.label_smoothing);
      store_slot(ctx, out.values, StepLosses::classification, ce.loss);
      out.probs = interleave_rows(ce.probs).to(ctx.device());  // each view reported with its sample's probabilities
      dlogits = scatter_even_rows(
          ops::cross_entropy_backward(ctx, ce, first_labels, weights, config_.label_smoothing, config_.cls_weight)).to(ctx.device());
    }
  }
  Tensor dr = run_backward(ctx, *head_, dlogits);
  if (config_.lambda > 0 && !distributed) {
    ProfileScope loss_scope("ntxent");
    // One fused pass gives the loss and lambda * dL_cst/dr.
    const ops::NtXentStep nt = ops::ntxent_forward_backward(ctx, r, config_.tau, config_.lambda);
    store_slot(ctx, out.values, StepLosses::contrastive, nt.result.loss);
    store_slot(ctx, out.values, StepLosses::positive_similarity, ops::mean(ctx, nt.result.pos_sim));
    // Eq. 9: the contrastive gradient reaches F only; G's gradient came from L_cls alone above.
    ops::axpy(ctx, 1.0f, nt.dr, dr);
  } else if (config_.lambda > 0) {
    ProfileScope loss_scope("ntxent");
    // Global-batch NT-Xent: every rank's rows are negatives for every other rank's rows.
    const double world = comm_->size();
    const std::int64_t rows = r.dim(0);
    const Tensor all = comm_->all_gather_rows(ctx, r);  // (world * rows, d), rank order
    const std::int64_t offset = comm_->rank() * rows;
    // One pass over the similarities gives the loss and both gradient parts.
    ops::NtXentPartialStep step =
        ops::ntxent_forward_backward_partial(ctx, r, all, offset, config_.tau, static_cast<float>(world * config_.lambda));
    const ops::NtXentResult& nt = step.result;
    ops::NtXentPartialGrads& g = step.grads;
    // Column gradients back to their owners: sum over ranks, keep this rank's rows.
    comm_->all_reduce_sum(ctx, g.d_all);
    const Tensor mine = g.d_all.narrow(offset, rows);
    ops::axpy(ctx, 1.0f, mine, dr);
    ops::axpy(ctx, 1.0f, g.d_local, dr);
    cst_host = comm_->all_reduce_scalar(ops::item(nt.loss));
    pos_host = comm_->all_reduce_scalar(ops::item(ops::sum(ctx, nt.pos_sim))) / static_cast<double>(all.dim(0));
  }
  if (distributed) {
    const std::vector<float> host{0.f, static_cast<float>(cls_host), static_cast<float>(cst_host), static_cast<float>(pos_host)};
    out.values = Tensor::from_vector(host, Shape{StepLosses::slots}).to(ctx.device());
  }
  // L = cls_weight * L_cls + lambda * L_cst, formed on the device.
  Tensor total = out.values.narrow(StepLosses::total, 1);
  ops::axpy(ctx, config_.cls_weight, out.values.narrow(StepLosses::classification, 1), total);
  ops::axpy(ctx, config_.lambda, out.values.narrow(StepLosses::contrastive, 1), total);
  backward_features(ctx, run_backward(ctx, *latent_, dr));
  return out;
}

Tensor CmtModel::features(Context& ctx, const Tensor& images) {
  const DType t = ctx.precision.activation_dtype();
  const Tensor f = run_forward(ctx, *backbone_, images.dtype() == t ? images : ops::cast(ctx, images, t));
  return f.dtype() == DType::f32 ? f : ops::cast(ctx, f, DType::f32);
}

void CmtModel::backward_features(Context& ctx, const Tensor& dfeatures) {
  const DType t = ctx.precision.activation_dtype();
  run_backward(ctx, *backbone_, t == DType::f32 ? dfeatures : ops::cast(ctx, dfeatures, t));
}

Tensor CmtModel::embed(Context& ctx, const Tensor& images) {
  const bool was_training = ctx.training;
  ctx.training = false;
  Tensor r = latent_->forward(ctx, features(ctx, images));
  ctx.training = was_training;
  return r;
}

CmtModel::FeatureMapGradient CmtModel::feature_map_gradient(Context& ctx, const Tensor& images, const std::vector<int>& classes) {
  // The backbone's top-level children split at its global (or adaptive) pooling: the stages run in
  // plain eval mode, the pooling onwards keeps what its backward needs.
  std::size_t split = backbone_->size();
  for (std::size_t i = 0; i < backbone_->size() && split == backbone_->size(); ++i) {
    const std::string t = backbone_->at(i).type();
    if (t == "GlobalAvgPool" || t == "AdaptiveAvgPool") split = i;
  }
  CMT_CHECK(split > 0 && split < backbone_->size(),
            "CMT-CNN: the " << config_.backbone.name << " backbone has no pooling after its last stage");
  CMT_CHECK(classes.empty() || static_cast<std::int64_t>(classes.size()) == images.dim(0),
            "CMT-CNN: " << classes.size() << " classes for " << images.dim(0) << " images");
  for (const int c : classes)
    CMT_CHECK(c >= -1 && c < config_.num_classes,
              "CMT-CNN: class " << c << " of a model with " << config_.num_classes << " classes");
  // The context's modes come back as they were, also when an op throws.
  struct ModeGuard {
    Context& ctx;
    bool training = ctx.training, keeping = ctx.keep_for_backward;
    ~ModeGuard() {
      ctx.training = training;
      ctx.keep_for_backward = keeping;
    }
  } guard{ctx};
  ctx.training = false;
  ctx.keep_for_backward = false;
  FeatureMapGradient out;
  const DType t = ctx.precision.activation_dtype();
  Tensor h = images.dtype() == t ? images : ops::cast(ctx, images, t);
  for (std::size_t i = 0; i < split; ++i) h = run_forward(ctx, backbone_->at(i), h);
  // The tail (pooling, latent, head) in f32: the gradient is what is looked at, not the speed.
  out.features = h.dtype() == DType::f32 ? h : ops::cast(ctx, h, DType::f32);
  ctx.keep_for_backward = true;
  Tensor f = out.features;
  for (std::size_t i = split; i < backbone_->size(); ++i) f = run_forward(ctx, backbone_->at(i), f);
  const Tensor r = run_forward(ctx, *latent_, f);
  out.latent = r.to(Device::cpu());
  out.logits = run_forward(ctx, *head_, r).to(Device::cpu());
  const std::int64_t n = out.logits.dim(0), k = out.logits.dim(1);
  std::vector<float> onehot(static_cast<std::size_t>(n * k), 0.f);
  const float* l = out.logits.data<float>();
  for (std::int64_t i = 0; i < n; ++i) {
    int c = classes.empty() ? -1 : classes[static_cast<std::size_t>(i)];
    if (c < 0) c = static_cast<int>(std::max_element(l + i * k, l + (i + 1) * k) - (l + i * k));
    onehot[static_cast<std::size_t>(i * k + c)] = 1.f;
    out.classes.push_back(c);
  }
  Tensor g = run_backward(ctx, *latent_, run_backward(ctx, *head_, Tensor::from_vector(onehot, Shape{n, k}).to(ctx.device())));
  for (std::size_t i = backbone_->size(); i-- > split;) g = run_backward(ctx, backbone_->at(i), g);
  out.gradient = g;
  return out;
}

Tensor CmtModel::predict(Context& ctx, const Tensor& images) {
  const bool was_training = ctx.training;
  ctx.training = false;
  const Tensor logits = head_->forward(ctx, latent_->forward(ctx, features(ctx, images))).to(Device::cpu());
  ctx.training = was_training;
  return softmax_rows(logits);
}

Tensor softmax_rows(const Tensor& logits) {
  // On the host in double: (N, classes) is tiny.
  const std::int64_t n = logits.dim(0), k = logits.dim(1);
  Tensor probs = Tensor::empty(Shape{n, k}, DType::f32);
  const float* l = logits.data<float>();
  float* p = probs.data<float>();
  for (std::int64_t i = 0; i < n; ++i) {
    double mx = l[i * k];
    for (std::int64_t j = 1; j < k; ++j) mx = std::max<double>(mx, l[i * k + j]);
    double z = 0;
    for (std::int64_t j = 0; j < k; ++j) z += std::exp(l[i * k + j] - mx);
    for (std::int64_t j = 0; j < k; ++j) p[i * k + j] = static_cast<float>(std::exp(l[i * k + j] - mx) / z);
  }
  return probs;
}

}  // namespace cmt::models
