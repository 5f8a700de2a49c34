// Shape helpers.
#include "engine/shape.h"

#include "kernels/common/check.h"

namespace cmt {

Shape::Shape(std::initializer_list<std::int64_t> dims) {
  for (std::int64_t d : dims) push_back(d);
}

void Shape::push_back(std::int64_t d) {
  CMT_CHECK(rank_ < kMaxRank, "shape rank exceeds " << kMaxRank);
  CMT_CHECK(d >= 0, "negative dimension " << d);
  dims_[static_cast<std::size_t>(rank_++)] = d;
}

std::int64_t Shape::numel() const {
  std::int64_t n = 1;
  for (int i = 0; i < rank_; ++i) n *= dims_[static_cast<std::size_t>(i)];
  return n;
}

std::string Shape::str() const {
  std::string s = "[";
  for (int i = 0; i < rank_; ++i) {
    if (i) s += ", ";
    s += std::to_string(dims_[static_cast<std::size_t>(i)]);
  }
  return s + "]";
}

}  // namespace cmt
