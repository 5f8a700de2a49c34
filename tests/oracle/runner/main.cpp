// cmt_op_runner OP DIR: reads DIR/spec.json and the raw input files it names, runs OP on the
// device named in the spec, writes each output as DIR/<name>.bin and DIR/outputs.json.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "engine/cuda_runtime.h"
#include "registry.h"

namespace cmt::oracle {

std::map<std::string, OpFn>& registry() {
  static std::map<std::string, OpFn> ops;
  return ops;
}

const Tensor& input(const TensorMap& inputs, const std::string& name) {
  auto it = inputs.find(name);
  CMT_CHECK(it != inputs.end(), "oracle op needs an input named '" << name << "'");
  return it->second;
}

namespace {

DType parse_dtype(const std::string& s) {
  for (DType t : {DType::f32, DType::bf16, DType::f16, DType::u8, DType::i16, DType::i32, DType::i64})
    if (dtype_name(t) == s) return t;
  CMT_THROW("unknown dtype '" << s << "'");
}

Tensor read_tensor(const std::filesystem::path& dir, const nlohmann::json& spec) {
  Shape shape;
  for (auto d : spec.at("shape")) shape.push_back(d.get<std::int64_t>());
  Tensor t = Tensor::empty(shape, parse_dtype(spec.at("dtype").get<std::string>()));
  const auto path = dir / spec.at("file").get<std::string>();
  std::ifstream f(path, std::ios::binary);
  CMT_CHECK(f, "cannot open " << path);
  f.read(static_cast<char*>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
  CMT_CHECK(static_cast<std::size_t>(f.gcount()) == t.nbytes(), path << ": expected " << t.nbytes() << " bytes");
  return t;
}

}  // namespace
}  // namespace cmt::oracle

int main(int argc, char** argv) {
  using namespace cmt;
  using namespace cmt::oracle;
  if (argc == 2 && std::string(argv[1]) == "--list") {
    for (const auto& [name, fn] : registry()) std::printf("%s\n", name.c_str());
    return 0;
  }
  if (argc != 3) {
    std::fprintf(stderr, "usage: cmt_op_runner OP DIR | --list\n");
    return 2;
  }
  try {
    const std::string op = argv[1];
    const std::filesystem::path dir = argv[2];
    auto it = registry().find(op);
    CMT_CHECK(it != registry().end(), "unknown oracle op '" << op << "'");
    std::ifstream sf(dir / "spec.json");
    CMT_CHECK(sf, "cannot open " << (dir / "spec.json"));
    const nlohmann::json spec = nlohmann::json::parse(sf);
    const Device device = parse_device(spec.value("device", std::string("cpu")));
    Context ctx(device);
    TensorMap inputs;
    for (const auto& [name, ts] : spec.at("inputs").items()) {
      Tensor t = read_tensor(dir, ts);
      inputs[name] = device.is_cpu() ? t : t.to(device);
    }
    TensorMap outputs = it->second(ctx, inputs, spec.value("args", nlohmann::json::object()));
    ctx.synchronize();
    nlohmann::json out;
    for (const auto& [name, t] : outputs) {
      Tensor host = t.device().is_cpu() ? t : t.to(Device::cpu());
      const std::string file = name + ".out.bin";
      std::ofstream f(dir / file, std::ios::binary);
      f.write(static_cast<const char*>(host.raw()), static_cast<std::streamsize>(host.nbytes()));
      out[name] = {{"dtype", std::string(dtype_name(host.dtype()))}, {"shape", std::vector<std::int64_t>(host.shape().begin(), host.shape().end())},
                   {"file", file}};
    }
    std::ofstream(dir / "outputs.json") << out.dump();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cmt_op_runner: %s\n", e.what());
    return 1;
  }
}
