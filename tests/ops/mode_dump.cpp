// Oracle mode, C++ side: writes each oracle case of a family (raw inputs, cmt's outputs, the
// function and arguments PyTorch evaluates, the checks) for tests/ops/torch_oracle.py.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "ops/compare.h"
#include "ops/modes.h"

namespace cmt::opcase {

namespace {

nlohmann::json write_tensors(const std::filesystem::path& dir, const std::string& prefix, const Tensors& ts) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, t] : ts) {
    if (!t.defined()) continue;
    const Tensor host = t.to(Device::cpu());
    const std::string file = prefix + "." + name + ".bin";
    std::ofstream f(dir / file, std::ios::binary);
    f.write(static_cast<const char*>(host.raw()), static_cast<std::streamsize>(host.nbytes()));
    CMT_CHECK(f.good(), "cannot write " << (dir / file));
    j[name] = {{"dtype", std::string(dtype_name(host.dtype()))},
               {"shape", std::vector<std::int64_t>(host.shape().begin(), host.shape().end())},
               {"file", file}};
  }
  return j;
}

nlohmann::json check_json(const Check& c) {
  const char* kinds[] = {"close", "scaled", "equal_bytes", "near_counts"};
  return {{"kind", kinds[static_cast<int>(c.kind)]}, {"atol", c.atol}, {"rtol", c.rtol}, {"max_fraction", c.max_fraction}};
}

}  // namespace

int dump_for_torch(const std::string& family, const std::string& dir_name, Device device) {
  const std::filesystem::path dir(dir_name);
  std::filesystem::create_directories(dir);
  nlohmann::json manifest = nlohmann::json::array();
  int index = 0;
  for (const OpCase& c : table()) {
    if (c.family != family || c.oracle.empty() || c.full_only) continue;
    std::mt19937_64 gen(case_seed("torch." + c.id()));
    const Tensors in = c.inputs(gen);
    Context ctx(device, c.precision);
    const Tensors out = c.run(ctx, copy_to(in, device));
    ctx.synchronize();
    const std::string prefix = "case" + std::to_string(index++);
    nlohmann::json checks = nlohmann::json::object();
    for (const auto& [name, t] : out) checks[name] = check_json(c.check_for(name));
    manifest.push_back({{"id", c.id()}, {"oracle", c.oracle}, {"args", c.args}, {"inputs", write_tensors(dir, prefix + ".in", in)},
                        {"outputs", write_tensors(dir, prefix + ".out", out)}, {"checks", checks}});
  }
  std::ofstream f(dir / "cases.json");
  f << manifest.dump(1);
  CMT_CHECK(f.good(), "cannot write " << (dir / "cases.json"));
  std::printf("%d %s cases written to %s (seed %llu)\n", index, family.c_str(), dir_name.c_str(),
              static_cast<unsigned long long>(run_seed()));
  return index;
}

}  // namespace cmt::opcase
