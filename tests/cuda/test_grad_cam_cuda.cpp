// Grad-CAM and Grad-CAM++ (models/grad_cam.h) on the CUDA backend against the CPU: the eval-mode
// forward, the backward from the class logit to the last stage's output and the upsampled maps, for
// the same weights and random batch norm statistics, in 2D and 3D.
#include <algorithm>

#include "engine/ops/basic.h"
#include "engine/parameters.h"
#include "models/grad_cam.h"
#include "support/testing.h"
#include "support/tiny_model.h"

using namespace cmt;

namespace {

// The model's parameters and buffers from `src` (another device) into `dst`.
void copy_store(Context& ctx, const ParameterStore& src, ParameterStore& dst) {
  for (std::size_t i = 0; i < src.parameter_refs().size(); ++i)
    ops::copy(ctx, *src.parameter_refs()[i].value, *dst.parameter_refs()[i].value);
  for (std::size_t i = 0; i < src.buffer_refs().size(); ++i)
    ops::copy(ctx, *src.buffer_refs()[i].value, *dst.buffer_refs()[i].value);
}

}  // namespace

TEST_CASE("Grad-CAM and Grad-CAM++ on CUDA equal the CPU maps (ResNet-50 2D and 3D, EfficientNet-B4 2D)") {
  std::mt19937_64 gen(test::run_seed() + 91);
  struct Case {
    const char* backbone;
    int dims, side;  // side 64: a 2x2 (2D) or 2^3 (3D) last stage
  };
  for (const Case& k : {Case{"resnet50", 2, 64}, Case{"efficientnet_b4", 2, 64}, Case{"resnet50", 3, 64}}) {
    CAPTURE(k.backbone);
    CAPTURE(k.dims);
    const models::CmtConfig config = test::tiny_cmt_config(16, 3, k.backbone, k.dims);
    Context cpu(Device::cpu()), gpu(Device::cuda(0));
    cpu.precision.compute = gpu.precision.compute = ComputePrecision::fp32;
    models::CmtModel on_cpu(config), on_gpu(config);
    ParameterStore cpu_store(cpu, on_cpu.root()), gpu_store(gpu, on_gpu.root());
    cpu_store.initialize(cpu, gen());
    for (const auto& r : cpu_store.buffer_refs())  // running statistics away from (0, 1)
      ops::copy(cpu, test::random_uniform(r.value->shape(), gen, 0.5f, 1.5f), *r.value);
    copy_store(gpu, cpu_store, gpu_store);
    const std::int64_t depth = k.dims == 3 ? k.side : 1;
    // One volume in 3D: the emulated device runs the 64^3 forward slowly, and the batch adds nothing there.
    const std::int64_t batch = k.dims == 3 ? 1 : 2;
    const Tensor images = test::random_normal(Shape{batch, depth, k.side, k.side, 1}, gen);
    for (const models::CamMethod method : {models::CamMethod::gradcam, models::CamMethod::gradcam_pp}) {
      CAPTURE(models::cam_method_name(method));
      std::vector<int> classes{static_cast<int>(gen() % 3), -1};  // a given class and the predicted one
      if (batch == 1) classes = {method == models::CamMethod::gradcam ? static_cast<int>(gen() % 3) : -1};
      const models::CamResult want = models::grad_cam(cpu, on_cpu, images, method, classes);
      const models::CamResult got = models::grad_cam(gpu, on_gpu, images.to(gpu.device()), method, classes);
      CHECK(got.classes == want.classes);
      const test::CompareResult logits = test::compare(got.logits, want.logits, 1e-5, 1e-4);
      CHECK_MESSAGE(logits.ok, logits.report);
      // The maps' scale is that of the gradient times the features: the tolerance follows it.
      const std::vector<float> cam = want.cams.to_vector<float>();
      const double scale = cam.empty() ? 0.0 : *std::max_element(cam.begin(), cam.end());
      const test::CompareResult cams = test::compare(got.cams, want.cams, 1e-4 * scale + 1e-12, 1e-3);
      CHECK_MESSAGE(cams.ok, cams.report);
      const test::CompareResult maps = test::compare(got.maps, want.maps, 1e-3, 0);
      CHECK_MESSAGE(maps.ok, maps.report);
    }
  }
}
