// Dropout and stochastic depth: validation, the Philox stream, dispatch (f32 or bf16 data; the CPU
// widens bf16, runs the f32 reference and rounds once).
#include "engine/ops/dropout.h"

#include "engine/ops/cpu_widen.h"
#include "engine/ops/validate.h"
#include "kernels/dropout.h"

namespace cmt::ops {

using namespace detail;

namespace {

void check_p(float p, const char* op) { CMT_CHECK(p >= 0.f && p < 1.f, op << ": p must be in [0, 1), got " << p); }

// 1 / (1 - p) in double, rounded once.
float keep_scale(float p) { return static_cast<float>(1.0 / (1.0 - static_cast<double>(p))); }

// y = mask[i / per_mask] ? x * scale : 0.
Tensor masked(Context& ctx, const Tensor& x, const Tensor& mask, std::int64_t per_mask, float scale, const char* op) {
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  const std::uint8_t* m = mask.data<std::uint8_t>();
  CMT_DISPATCH(ctx, op, with_elem(x.dtype(), [&](auto t) {
                 using T = decltype(t);
                 cuda::masked_scale(elems<T>(x), m, elems<T>(y), x.numel(), per_mask, scale, ctx.compute_stream());
               }),
               {
                 const Tensor xf = widen(x);
                 cpu_into(y, [&](float* out) { cpu::masked_scale(xf.data<float>(), m, out, x.numel(), per_mask, scale); });
               });
  return y;
}

void check_mask(const Context& ctx, const Tensor& mask, const char* op, const char* name) {
  require_on(ctx, mask, op, name);
  require_dtype(mask, DType::u8, op, name);
}

}  // namespace

namespace {
// The Philox stream of a dropout-like op. With a step key on the context (a memory-planned or
// captured step), its (epoch, step) replace the arguments: the CPU reads it here, a CUDA kernel reads
// it from device memory at run time, so a replayed graph draws each step's own masks.
rng::Stream keyed_stream(const Context& ctx, std::uint64_t seed, std::uint32_t epoch, std::uint32_t step, std::uint32_t op) {
  if (ctx.step_key().defined() && !ctx.is_cuda()) {
    const auto* k = static_cast<const std::uint32_t*>(ctx.step_key().raw());
    return rng::Stream::make(seed, k[0], k[1], op);
  }
  return rng::Stream::make(seed, epoch, step, op);
}
const std::uint32_t* device_epoch_step(const Context& ctx) {
  return ctx.step_key().defined() && ctx.is_cuda() ? static_cast<const std::uint32_t*>(ctx.step_key().raw()) : nullptr;
}
}  // namespace

Tensor dropout_forward(Context& ctx, const Tensor& x, float p, std::uint64_t seed, std::uint32_t epoch,
                       std::uint32_t step, std::uint32_t op_id, Tensor& mask) {
  const char* op = "dropout_forward";
  require_f32_or_bf16(ctx, x, op, "x");
  check_p(p, op);
  CMT_CHECK(x.numel() < (std::int64_t{1} << 34), op << ": too many elements for one Philox stream");
  const float scale = keep_scale(p);
  const auto rs = keyed_stream(ctx, seed, epoch, step, static_cast<std::uint32_t>(rng::Op::dropout) * 0x10000u + op_id);
  [[maybe_unused]] const std::uint32_t* epoch_step = device_epoch_step(ctx);  // CUDA only
  mask = Tensor::empty(x.shape(), DType::u8, x.device());
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  std::uint8_t* m = mask.data<std::uint8_t>();
  CMT_DISPATCH(ctx, op, with_elem(x.dtype(), [&](auto t) {
                 using T = decltype(t);
                 cuda::dropout_forward(elems<T>(x), elems<T>(y), m, x.numel(), p, scale, rs, epoch_step, ctx.compute_stream());
               }),
               {
                 const Tensor xf = widen(x);
                 cpu_into(y, [&](float* out) { cpu::dropout_forward(xf.data<float>(), out, m, x.numel(), p, scale, rs); });
               });
  return y;
}

Tensor dropout_backward(Context& ctx, const Tensor& dy, const Tensor& mask, float p) {
  const char* op = "dropout_backward";
  require_f32_or_bf16(ctx, dy, op, "dy");
  check_mask(ctx, mask, op, "mask");
  require_same_shape(dy, mask, op, "dy", "mask");
  check_p(p, op);
  return masked(ctx, dy, mask, 1, keep_scale(p), op);
}

Tensor stochastic_depth_forward(Context& ctx, const Tensor& x, float p, std::uint64_t seed, std::uint32_t epoch,
                                std::uint32_t step, std::uint32_t op_id, Tensor& keep) {
  const char* op = "stochastic_depth_forward";
  require_f32_or_bf16(ctx, x, op, "x");
  CMT_CHECK(x.rank() >= 1 && x.numel() > 0, op << ": 'x' must be a non-empty (N, ...) tensor, got " << x.describe());
  check_p(p, op);
  const std::int64_t n = x.dim(0);
  const auto rs = keyed_stream(ctx, seed, epoch, step, static_cast<std::uint32_t>(rng::Op::stochastic_depth) * 0x10000u + op_id);
  keep = Tensor::empty(Shape{n}, DType::u8, x.device());
  CMT_DISPATCH(ctx, op, cuda::bernoulli_keep(keep.data<std::uint8_t>(), n, p, rs, device_epoch_step(ctx), ctx.compute_stream()),
               cpu::bernoulli_keep(keep.data<std::uint8_t>(), n, p, rs));
  return masked(ctx, x, keep, x.numel() / n, keep_scale(p), op);
}

Tensor stochastic_depth_backward(Context& ctx, const Tensor& dy, const Tensor& keep, float p) {
  const char* op = "stochastic_depth_backward";
  require_f32_or_bf16(ctx, dy, op, "dy");
  check_mask(ctx, keep, op, "keep");
  CMT_CHECK(dy.rank() >= 1 && dy.numel() > 0 && keep.rank() == 1 && keep.dim(0) == dy.dim(0),
            op << ": keep must be u8[N] for dy " << dy.describe() << ", got " << keep.describe());
  check_p(p, op);
  return masked(ctx, dy, keep, dy.numel() / dy.dim(0), keep_scale(p), op);
}

}  // namespace cmt::ops
