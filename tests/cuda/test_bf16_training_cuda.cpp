// bf16 training on CUDA: one CMT step of each tiny backbone, 2D and 3D, against the CUDA fp32 step
// under the criterion of docs/bf16.md (the same as the CPU's), with bf16 activations throughout F.
#include "support/bf16_step.h"
#include "support/tiny_model.h"

using namespace cmt;

TEST_CASE("one bf16 CMT step on CUDA agrees with the fp32 step (tiny backbones, 2D and 3D)") {
  std::mt19937_64 gen(test::run_seed() + 63);
  for (const char* backbone : {"vgg19", "resnet50", "efficientnet_b4"}) {
    for (int dims : {2, 3}) {
      models::CmtConfig config = test::tiny_cmt_config(32, 3);
      config.backbone.name = backbone;
      config.backbone.spatial_dims = dims;
      config.backbone.width = 0.25;
      // 3D at 16^3 (VGG's five pools need 32): short under compute-sanitizer too.
      const int side = dims == 3 && config.backbone.name != "vgg19" ? 16 : 32;
      test::check_bf16_step_agrees(Device::cuda(0), config, gen(), dims == 2 ? 8 : 4, side);
    }
  }
}
