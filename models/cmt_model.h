// CMT-CNN (paper 3.2-3.3): F = backbone -> latent r (d = 4096 by default); G = FC(d -> classes) +
// softmax. L = L_cls + lambda * L_cst; L_cls trains F and G, L_cst trains F only (Eq. 9).
#pragma once
#include <memory>
#include <vector>

#include "engine/communicator.h"
#include "engine/layers/attention_decoder.h"
#include "engine/layers/linear.h"
#include "engine/model.h"
#include "models/backbone.h"

namespace cmt::models {

struct CmtConfig {
  BackboneConfig backbone;
  std::int64_t latent_dim = 4096;
  std::int64_t num_classes = 2;
  float lambda = 0.25f;  // weight of the contrastive loss (the paper's choice)
  float tau = 0.1f;      // NT-Xent temperature
  float label_smoothing = 0.f;
  std::vector<float> class_weights;  // empty: unweighted
  // Ablations (paper 4.4): cls_weight 0 trains F by the contrastive loss alone; freeze_features
  // trains only G on frozen features r (a linear probe; F runs in eval mode, L_cst is not computed).
  float cls_weight = 1.f;
  bool cls_both_views = true;  // L_cls over both views (default) or over the first view of each sample
  bool freeze_features = false;
  // The attention decoder of the paper's Fig. 5 on the backbone's last feature map (docs/models.md).
  bool attention_head = false;
};

class CmtModel : public Model {
 public:
  explicit CmtModel(const CmtConfig& config);
  Layer& root() override { return root_; }
  std::string describe() const override;
  std::int64_t num_classes() const override { return config_.num_classes; }
  StepLosses train_step(Context& ctx, const Tensor& views, const Tensor& labels) override;
  // Dropout keys come from the context's device step key in a captured step (Context::upload_step_key).
  bool graph_safe() override { return config_.cls_both_views; }
  Tensor predict(Context& ctx, const Tensor& images) override;
  Tensor embed(Context& ctx, const Tensor& images) override;
  // The output A of the backbone's last stage (the feature map before global pooling: ResNet's
  // layer4, EfficientNet's head conv, VGG's last max pool), the logits, and the gradient of each
  // row's logit `classes[i]` (-1: the row's largest) with respect to A; eval mode (running BN
  // statistics, no dropout), no parameter gradients. A and dA are f32 (N, d, h, w, C) on the
  // context's device, logits (N, classes) and latent r (N, d) on the host. Grad-CAM is built on it (models/grad_cam.h).
  struct FeatureMapGradient {
    Tensor features, gradient, logits;
    Tensor latent;             // r (N, d) on the host: the same forward pass gives the prediction
    std::vector<int> classes;  // the class differentiated for each row
  };
  FeatureMapGradient feature_map_gradient(Context& ctx, const Tensor& images, const std::vector<int>& classes);
  const CmtConfig& config() const { return config_; }
  // The attention decoder inside the backbone; null without attention_head (models/attention_map.h).
  layers::AttentionDecoder* attention_decoder() const { return attention_; }
  void set_lambda(float lambda) { config_.lambda = lambda; }
  // Data parallelism: with a communicator of size > 1, train_step treats its views as this rank's part
  // of the global batch: both losses are global means (NT-Xent over the gathered latent rows), the
  // returned losses are global, and the gradients are those of world * (this rank's share of L), so that
  // their average over ranks is the gradient of the global loss. Null or size 1: single process.
  void set_communicator(Communicator* comm) { comm_ = comm; }

 private:
  // F in the precision policy's activation dtype: under bf16 the images are cast to bf16 on the way in
  // and the features back to f32 on the way out, so that latent, head and both losses run in fp32
  // (docs/bf16.md). backward_features takes the f32 gradient of the features.
  Tensor features(Context& ctx, const Tensor& images);
  void backward_features(Context& ctx, const Tensor& dfeatures);
  const Tensor& class_weights(Context& ctx);  // undefined when unweighted

  CmtConfig config_;
  Tensor class_weights_;  // on the device of the last step
  layers::Sequential root_;  // children: backbone, latent, head
  layers::Sequential* backbone_ = nullptr;
  layers::Linear* latent_ = nullptr;
  layers::Linear* head_ = nullptr;
  layers::AttentionDecoder* attention_ = nullptr;
  Communicator* comm_ = nullptr;
};

// Row-wise softmax of host logits (N, classes), in double: the class probabilities of predict().
Tensor softmax_rows(const Tensor& logits);

}  // namespace cmt::models
