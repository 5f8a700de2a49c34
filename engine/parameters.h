// The flat parameter, gradient and buffer blocks of a layer tree: one allocation each, so the
// optimizer runs one fused kernel and data parallelism all-reduces one buffer.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/layer.h"

namespace cmt {

class ParameterStore {
 public:
  // Collects the tree's parameters and buffers under `prefix`, lays them out (each 64-float
  // aligned), allocates the blocks on ctx's device and binds every layer's tensors to views.
  ParameterStore(Context& ctx, Layer& root, const std::string& prefix = "");

  Tensor& params() { return params_; }  // flat f32
  Tensor& grads() { return grads_; }    // flat f32, same layout
  Tensor& buffers() { return buffers_; }
  const std::vector<ParameterRef>& parameter_refs() const { return param_refs_; }
  const std::vector<ParameterRef>& buffer_refs() const { return buffer_refs_; }
  std::int64_t num_parameters() const { return num_params_; }  // without alignment padding
  std::int64_t offset_of(const std::string& path) const;       // in floats; throws for unknown names

  void zero_grads(Context& ctx);
  // Fills every parameter and buffer per its Init scheme, deterministically from `seed`.
  void initialize(Context& ctx, std::uint64_t seed);

 private:
  Tensor params_, grads_, buffers_;
  std::vector<ParameterRef> param_refs_, buffer_refs_;
  std::map<std::string, std::int64_t> offsets_;
  std::int64_t num_params_ = 0;
};

}  // namespace cmt
