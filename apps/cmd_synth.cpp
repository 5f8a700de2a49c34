// `cmt synth`: writes phantom chest CTs (DICOM series, PNG slices) and X-rays (DX, PNG) with manifests.
#include <fmt/core.h>

#include <memory>
#include <sstream>

#include "apps/commands.h"
#include "data/synth.h"
#include "kernels/common/check.h"

namespace cmt::app {

namespace {

struct SynthArgs {
  std::string out, modality = "both", format = "both", size;
  std::int64_t count = 30;
  std::uint64_t seed = 0;
  double difficulty = 0.3;
};

// "32" (CT 32^3, X-ray 64^2 default), "32x48x48" (CT), or "ct=32,xray=128".
void apply_size(const std::string& text, data::PhantomOptions& p) {
  if (text.empty()) return;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    std::string key = "both";
    if (const auto eq = part.find('='); eq != std::string::npos) {
      key = part.substr(0, eq);
      part = part.substr(eq + 1);
    }
    std::vector<int> dims;
    std::stringstream ds(part);
    std::string d;
    while (std::getline(ds, d, 'x')) dims.push_back(std::stoi(d));
    CMT_CHECK(!dims.empty() && dims.size() <= 3, "--size: cannot parse '" << text << "'");
    for (int v : dims) CMT_CHECK(v >= 4 && v <= 1024, "--size: sizes must be in [4, 1024], got " << v);
    if (key == "ct" || key == "both")
      for (int i = 0; i < 3; ++i) p.ct_size[i] = dims.size() == 3 ? dims[static_cast<std::size_t>(i)] : dims[0];
    if (key == "xray" || (key == "both" && dims.size() != 3))
      for (int i = 0; i < 2; ++i) p.xray_size[i] = dims.size() >= 2 ? dims[dims.size() - 2 + static_cast<std::size_t>(i)] : dims[0];
  }
}

int run_synth(const SynthArgs& a) {
  data::SynthOptions opt;
  opt.modality = a.modality;
  opt.format = a.format;
  opt.count = a.count;
  opt.phantom.seed = a.seed;
  opt.phantom.difficulty = a.difficulty;
  apply_size(a.size, opt.phantom);
  const std::int64_t files = data::write_synthetic(a.out, opt);
  // Only the sizes of what was written: an X-ray-only set has no CT size.
  std::string sizes;
  if (a.modality != "xray")
    sizes += fmt::format("CT {}x{}x{}", opt.phantom.ct_size[0], opt.phantom.ct_size[1], opt.phantom.ct_size[2]);
  if (a.modality != "ct")
    sizes += fmt::format("{}X-ray {}x{}", sizes.empty() ? "" : ", ", opt.phantom.xray_size[0], opt.phantom.xray_size[1]);
  fmt::print("wrote {} phantoms ({} files) to {}: {}, difficulty {}, seed {}\n", a.count, files, a.out, sizes, a.difficulty,
             a.seed);
  return kOk;
}

void setup_synth(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("synth", "Write phantom chest CT and X-ray datasets (DICOM and PNG)");
  auto a = std::make_shared<SynthArgs>();
  cmd->add_option("--out", a->out, "Output folder")->required();
  cmd->add_option("--modality", a->modality, "ct, xray or both")->check(CLI::IsMember({"ct", "xray", "both"}));
  cmd->add_option("--count", a->count, "Number of patients (classes in turn)")->check(CLI::Range(1, 1000000));
  cmd->add_option("--seed", a->seed, "Seed: the same seed writes the same phantoms");
  cmd->add_option("--size", a->size, "32 | 32x48x48 | ct=32,xray=128 (CT default 32^3, X-ray 64^2)");
  cmd->add_option("--difficulty", a->difficulty, "0 (obvious lesions) .. 1 (faint lesions, strong noise)")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--format", a->format, "dicom, png or both")->check(CLI::IsMember({"dicom", "png", "both"}));
  cmd->callback([&action, a] { action = [a] { return run_synth(*a); }; });
}

}  // namespace

CMT_REGISTER_COMMAND(20, "synth", setup_synth);

}  // namespace cmt::app
