// `cmt model`: the per-layer summary of a CMT-CNN (or a torchvision-style classifier) for an input size.
#include <fmt/core.h>

#include "apps/commands.h"
#include "apps/flag_names.h"
#include "models/cmt_model.h"
#include "models/summary.h"

namespace cmt::app {

namespace {

struct ModelArgs {
  models::CmtConfig cmt;
  std::vector<int> input{128};
  int batch = 1, depth_level = 2;
  bool classifier = false;
};

int run_model(ModelArgs a) {
  const int dims = a.cmt.backbone.spatial_dims;
  CMT_CHECK(a.input.size() == 1 || static_cast<int>(a.input.size()) == dims, "--size: give one size or " << dims << " sizes");
  Shape in{a.batch};
  if (dims == 2) in.push_back(1);
  for (int i = 0; i < dims; ++i) in.push_back(a.input.size() == 1 ? a.input[0] : a.input[static_cast<std::size_t>(i)]);
  in.push_back(a.cmt.backbone.in_channels);
  std::unique_ptr<Layer> owned;
  Layer* root = nullptr;
  std::unique_ptr<models::CmtModel> cmt;
  if (a.classifier) {
    owned = models::build_classifier(a.cmt.backbone, a.cmt.num_classes);
    root = owned.get();
  } else {
    cmt = std::make_unique<models::CmtModel>(a.cmt);
    root = &cmt->root();
  }
  std::printf("%s\n", a.classifier ? fmt::format("{} classifier, {}D, {} classes", a.cmt.backbone.name, dims, a.cmt.num_classes).c_str()
                                   : cmt->describe().c_str());
  std::printf("%s", models::format_summary(models::summarize(*root, in, a.depth_level), in).c_str());
  return kOk;
}

void setup_model(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("model", "Per-layer summary of a model: output shapes, parameters, MACs, activation memory");
  auto a = std::make_shared<ModelArgs>();
  a->cmt.num_classes = 2;
  cmd->add_option("--backbone", a->cmt.backbone.name, "vgg19 | vgg19_bn | resnet50 | efficientnet_b4");
  cmd->add_option("--dims", a->cmt.backbone.spatial_dims, "2 or 3")->check(CLI::IsMember({2, 3}));
  cmd->add_option("--size", a->input, "input size: one side, or D H W / H W")->expected(1, 3);
  add_hidden_alias(*cmd, "--input", a->input)->expected(1, 3);
  cmd->add_option("--channels", a->cmt.backbone.in_channels, "input channels");
  cmd->add_option("--batch-size", a->batch, "batch size");
  add_hidden_alias(*cmd, "--batch", a->batch);
  cmd->add_option("--width", a->cmt.backbone.width, "channel multiplier");
  cmd->add_option("--depth", a->cmt.backbone.depth, "block-count multiplier");
  cmd->add_option("--latent-dim", a->cmt.latent_dim, "dimension d of r");
  cmd->add_option("--classes", a->cmt.num_classes, "classes");
  cmd->add_option("--level", a->depth_level, "how deep to expand Sequential containers");
  cmd->add_flag("--classifier", a->classifier, "the torchvision-style classifier instead of CMT-CNN");
  cmd->callback([&action, a] { action = [a] { return run_model(*a); }; });
}

}  // namespace

CMT_REGISTER_COMMAND(45, "model", setup_model);

}  // namespace cmt::app
