// Command-line options of the synthetic training step (shared by `cmt profile` and `cmt bench`).
#pragma once
#include <CLI/CLI.hpp>

#include "apps/flag_names.h"
#include "apps/step_runner.h"

namespace cmt::app {

// The step's sizes, device and seed (`cmt bench` takes lists of backbones, dims and precisions itself).
inline void add_step_size_options(CLI::App& cmd, StepSetup& s) {
  cmd.add_option("--size", s.size, "image side (H = W, and D in 3D)")->capture_default_str();
  cmd.add_option("--batch-size", s.batch, "samples per step (the step sees 2 x batch views)")->capture_default_str();
  add_hidden_alias(cmd, "--batch", s.batch);
  cmd.add_option("--width", s.width, "channel multiplier")->capture_default_str();
  cmd.add_option("--depth", s.depth, "block-count multiplier")->capture_default_str();
  cmd.add_option("--latent-dim", s.latent, "latent dimension d")->capture_default_str();
  cmd.add_option("--device", s.device, kDeviceHelp)->check(device_check())->capture_default_str();
  cmd.add_option("--seed", s.seed, "weights and synthetic batch")->capture_default_str();
  cmd.add_flag("--recompute", s.recompute, "recompute batch-norm + activation outputs in backward (less memory)");
}

inline void add_step_options(CLI::App& cmd, StepSetup& s) {
  cmd.add_option("--backbone", s.backbone, "vgg19 | vgg19_bn | resnet50 | efficientnet_b4")->capture_default_str();
  cmd.add_option("--dims", s.dims, "2 (X-ray) or 3 (CT)")->check(CLI::IsMember({2, 3}))->capture_default_str();
  add_step_size_options(cmd, s);
  cmd.add_option("--precision", s.precision, "auto (tf32 on a GPU, fp32 on the CPU) | fp32 | tf32 | bf16")->capture_default_str();
}

}  // namespace cmt::app
