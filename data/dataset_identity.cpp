// The identity hash of a dataset (see dataset_identity.h).
#include "data/dataset_identity.h"

#include <cstdint>
#include <cstdio>
#include <vector>

namespace cmt::data {

namespace {

struct Fnv1a {
  std::uint64_t h = 0xcbf29ce484222325ull;
  void bytes(const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ull;
  }
  void text(const std::string& s) {
    const std::uint64_t n = s.size();  // length first: ("ab", "c") and ("a", "bc") differ
    bytes(&n, sizeof(n));
    bytes(s.data(), s.size());
  }
  void number(std::int64_t v) { bytes(&v, sizeof(v)); }
};

}  // namespace

std::string dataset_identity(const Dataset& ds) {
  Fnv1a f;
  f.number(ds.size());
  for (std::int64_t d : ds.sample_shape()) f.number(d);
  f.text(ds.modality());
  f.number(ds.num_folds());
  for (const auto& c : ds.class_names()) f.text(c);
  for (std::int32_t l : ds.labels()) f.number(l);
  for (std::int32_t k : ds.folds()) f.number(k);
  for (const auto& p : ds.patient_ids()) f.text(p);
  for (const auto& s : ds.source_paths()) f.text(s);
  for (const char* attr : {"window", "source", "created_by"}) f.text(ds.attribute(attr));
  // The first and last images too (one read each): the same inputs prepared otherwise differ there.
  std::vector<float> pixels(static_cast<std::size_t>(ds.sample_shape().numel()));
  for (std::int64_t i : {std::int64_t{0}, ds.size() - 1}) {
    if (i < 0) continue;
    ds.read_sample(i, pixels.data());
    f.bytes(pixels.data(), pixels.size() * sizeof(float));
  }
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(f.h));
  return std::string("fnv1a64:") + hex;
}

}  // namespace cmt::data
