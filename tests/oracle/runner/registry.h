// The oracle runner's op registry: each op family registers functions that take named input
// tensors and JSON arguments and return named output tensors. Python tests (tests/oracle/) write
// the inputs, run the op here and compare with PyTorch.
#pragma once
#include <functional>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/context.h"
#include "engine/tensor.h"

namespace cmt::oracle {

using TensorMap = std::map<std::string, Tensor>;
using OpFn = std::function<TensorMap(Context& ctx, const TensorMap& inputs, const nlohmann::json& args)>;

std::map<std::string, OpFn>& registry();

struct Registrar {
  Registrar(const std::string& name, OpFn fn) { registry()[name] = std::move(fn); }
};

// Looks up an input and says which op wanted it when it is missing.
const Tensor& input(const TensorMap& inputs, const std::string& name);

}  // namespace cmt::oracle

#define CMT_ORACLE_CONCAT_(a, b) a##b
#define CMT_ORACLE_CONCAT(a, b) CMT_ORACLE_CONCAT_(a, b)
#define CMT_ORACLE_OP(name, ...) \
  static ::cmt::oracle::Registrar CMT_ORACLE_CONCAT(cmt_oracle_reg_, __LINE__)(name, __VA_ARGS__)
