// The flat parameter, gradient and buffer blocks of a layer tree: one allocation each, so the
// optimizer runs one fused kernel and data parallelism all-reduces one buffer. Under bf16 precision a
// fourth block holds the bf16 compute copies of the parameters (same layout) that bf16 layers use.
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
  // aligned), allocates the blocks on ctx's device and binds every layer's tensors to views. With
  // ctx.precision bf16 it also allocates the bf16 compute block and binds the layers' compute slots.
  ParameterStore(Context& ctx, Layer& root, const std::string& prefix = "");

  Tensor& params() { return params_; }  // flat f32 (the master weights)
  Tensor& grads() { return grads_; }    // flat f32, same layout
  // Flat bf16, same layout: the weights bf16 layers compute with; undefined unless built under bf16.
  // Adam's bf16 overload refreshes it in its own pass; anything else that writes params() must call
  // refresh_compute() (initialize and load_checkpoint do).
  Tensor& compute_params() { return compute_; }
  void refresh_compute(Context& ctx);  // compute_params() = bf16(params()); no-op without the block
  Tensor& buffers() { return buffers_; }
  const std::vector<ParameterRef>& parameter_refs() const { return param_refs_; }
  const std::vector<ParameterRef>& buffer_refs() const { return buffer_refs_; }
  std::int64_t num_parameters() const { return num_params_; }  // without alignment padding
  std::int64_t offset_of(const std::string& path) const;       // in floats; throws for unknown names

  void zero_grads(Context& ctx);
  // Fills every parameter and buffer per its Init scheme, deterministically from `seed` (then the bf16 copies).
  void initialize(Context& ctx, std::uint64_t seed);

 private:
  Tensor params_, grads_, buffers_, compute_;
  std::vector<ParameterRef> param_refs_, buffer_refs_;
  std::map<std::string, std::int64_t> offsets_;
  std::int64_t num_params_ = 0;
};

}  // namespace cmt
