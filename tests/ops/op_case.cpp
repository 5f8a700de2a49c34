// The op-case table's storage and the input helpers the family files share.
#include "ops/op_case.h"

#include <cstring>

#include "engine/ops/basic.h"

namespace cmt::opcase {

std::vector<OpCase>& table() {
  static std::vector<OpCase> cases;
  return cases;
}

Rows::Rows(const std::function<std::vector<OpCase>()>& make) {
  for (OpCase& c : make()) table().push_back(std::move(c));
}

Tensor normal(const Shape& shape, std::mt19937_64& gen, float scale) {
  std::normal_distribution<float> dist(0.f, scale);
  Tensor t = Tensor::empty(shape, DType::f32);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(gen);
  return t;
}

Tensor small_ints(const Shape& shape, std::mt19937_64& gen, int k) {
  std::uniform_int_distribution<int> dist(-k, k);
  Tensor t = Tensor::empty(shape, DType::f32);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(dist(gen));
  return t;
}

Tensor uniform(const Shape& shape, std::mt19937_64& gen, float lo, float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  Tensor t = Tensor::empty(shape, DType::f32);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(gen);
  return t;
}

Tensor bf16(const Tensor& f32) {
  Context cpu(Device::cpu());
  return ops::cast(cpu, f32, DType::bf16);
}

Tensor labels(std::int64_t n, std::int64_t classes, std::mt19937_64& gen) {
  std::vector<std::int32_t> v(static_cast<std::size_t>(n));
  for (auto& l : v) l = static_cast<std::int32_t>(gen() % static_cast<std::uint64_t>(classes));
  return Tensor::from_vector(v, Shape{n});
}

Tensor seed_tensor(std::mt19937_64& gen) {
  return Tensor::from_vector(std::vector<std::int64_t>{static_cast<std::int64_t>(gen() >> 1)}, Shape{1});
}

std::uint64_t seed_of(const Tensors& in) { return static_cast<std::uint64_t>(in.at("seed").to(Device::cpu()).data<std::int64_t>()[0]); }

Tensor clone(const Tensor& t) { return t.defined() ? t.to(t.device()) : t; }

std::string dims(const Shape& s) {
  std::ostringstream os;
  for (int i = 0; i < s.rank(); ++i) os << (i ? "x" : "") << s[i];
  return os.str();
}

}  // namespace cmt::opcase
