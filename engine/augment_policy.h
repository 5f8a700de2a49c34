// AugmentPolicy: which of the paper's seven transformations a view gets, and every tunable
// parameter (Models Genesis defaults), parsed from a short spec string and described as text.
#pragma once
#include <array>
#include <string>
#include <string_view>

#include "kernels/common/augment_params.h"

namespace cmt {

std::string_view transform_name(Transform t);          // "bezier", "shuffle", ...
Transform transform_from_name(std::string_view name);  // throws cmt::Error on an unknown name
inline constexpr std::array<Transform, kTransformCount> kAllTransforms = {
    Transform::bezier, Transform::shuffle, Transform::poisson, Transform::inpaint,
    Transform::outpaint, Transform::rotate, Transform::flip};

// Spec grammar: NAME[,KEY=VALUE]... where NAME is
//   genesis        the random Models Genesis pipeline (the engine's default): flip 0.4 per attempt
//                  up to 3, shuffle 0.5, bezier 0.9, painting 0.9 with in:out = 0.2:0.8
//   paper          all seven of the paper's transformations (the default of `cmt train`/`cv`):
//                  genesis plus rotation 0.5, Poisson noise 0.5 and 6 shuffle rounds (paper_config())
//   none           no transformation (the views are the inputs)
//   T or T1+T2...  fixed transformations in that order (Fig. 4: single or ordered pair)
// and KEY is any field below, e.g. "genesis,fill=noise,per_slice=1" or "poisson+flip,poisson_scale_lo=10".
aug::Config paper_config();

struct AugmentPolicy {
  aug::Config config;  // what the kernels receive

  static AugmentPolicy parse(const std::string& spec);
  std::string describe() const;  // canonical spec: parse(describe()) gives the same policy
  void validate() const;         // throws cmt::Error naming the bad field
  bool may_rotate() const;       // some view may be rotated (odd turns need H == W)
  bool operator==(const AugmentPolicy& other) const { return describe() == other.describe(); }
};

}  // namespace cmt
