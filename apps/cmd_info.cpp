// `cmt info`: version, build options, backends, library versions and the CUDA devices (or why none).
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "data/library_info.h"
#include "engine/cuda_runtime.h"
#include "engine/runtime_info.h"

namespace cmt::app {

namespace {

int run_info(bool as_json) {
  const auto options = build_options();
  auto libs = library_versions();
  for (auto& v : data::library_versions()) libs.push_back(v);
  const CudaStatus& cuda = cuda_status();
  const auto devices = cuda_devices();

  if (as_json) {
    nlohmann::json j;
    for (const auto& o : options) j["build"][o.name] = o.value;
    for (const auto& l : libs) j["libraries"][l.name] = l.value;
    j["backends"] = nlohmann::json::array({"cpu"});
    if (cuda.compiled) j["backends"].push_back("cuda");
    j["cuda"]["available"] = cuda.available;
    j["cuda"]["reason"] = cuda.reason;
    for (const auto& d : devices)
      j["cuda"]["devices"].push_back({{"index", d.index}, {"name", d.name}, {"compute_capability", fmt::format("{}.{}", d.cc_major, d.cc_minor)},
                                      {"multiprocessors", d.multiprocessors}, {"memory_bytes", d.total_memory}});
    fmt::print("{}\n", j.dump(2));
    return kOk;
  }
  fmt::print("cmt {}\n\nbuild\n", options.front().value);
  for (const auto& o : options) fmt::print("  {:<20} {}\n", o.name, o.value);
  fmt::print("\nbackends\n  {:<20} {}\n", "compiled", cuda.compiled ? "cpu, cuda" : "cpu");
  fmt::print("\nlibraries\n");
  for (const auto& l : libs) fmt::print("  {:<20} {}\n", l.name, l.value);
  fmt::print("\ncuda devices\n");
  if (!cuda.available) fmt::print("  none: {}\n", cuda.reason);
  for (const auto& d : devices)
    fmt::print("  cuda:{}  {} (sm_{}{}, {} SMs, {:.1f} GiB)\n", d.index, d.name, d.cc_major, d.cc_minor, d.multiprocessors,
               static_cast<double>(d.total_memory) / (1 << 30));
  return kOk;
}

}  // namespace

namespace {
void setup_info(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("info", "Version, build options, backends, library versions and CUDA devices");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Print as JSON");
  cmd->callback([&action, json] { action = [json] { return run_info(*json); }; });
}
}  // namespace

CMT_REGISTER_COMMAND(10, "info", setup_info);

}  // namespace cmt::app
