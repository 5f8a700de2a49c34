// The basic op family: validation and dispatch to kernels/cpu or kernels/cuda.
#include "engine/ops/basic.h"

#include <cstring>

#include "engine/host_sync.h"
#include "engine/ops/validate.h"
#include "kernels/basic.h"
#include "kernels/common/check.h"
#if defined(CMT_WITH_CUDA)
#include <cuda_runtime_api.h>
#endif

namespace cmt::ops {

using namespace detail;

void fill(Context& ctx, Tensor& t, double value) {
  require_on(ctx, t, "fill", "t");
  CMT_DISPATCH(ctx, "fill", cuda::fill(t.raw(), t.dtype(), t.numel(), value, ctx.compute_stream()),
               cpu::fill(t.raw(), t.dtype(), t.numel(), value));
}

void copy(Context& ctx, const Tensor& src, Tensor& dst) {
  require_defined(src, "copy", "src");
  require_defined(dst, "copy", "dst");
  CMT_CHECK(src.dtype() == dst.dtype(), "copy: dtype mismatch " << src.describe() << " -> " << dst.describe());
  CMT_CHECK(src.numel() == dst.numel(), "copy: size mismatch " << src.describe() << " -> " << dst.describe());
  if (src.nbytes() == 0) return;
  if (src.device().is_cpu() && dst.device().is_cpu()) {
    std::memcpy(dst.raw(), src.raw(), src.nbytes());
    return;
  }
  CMT_CUDA_ONLY("copy", {
    // Transfers between host and device go on the copy stream; device-local copies on compute.
    const bool transfer = src.device().is_cpu() != dst.device().is_cpu();
    cudaStream_t stream = (transfer && ctx.is_cuda()) ? ctx.copy_stream() : ctx.compute_stream();
    if (transfer && ctx.is_cuda()) ctx.copy_after_compute();  // the compute stream may still write src or read dst
    CUDA_CHECK(cudaMemcpyAsync(dst.raw(), src.raw(), src.nbytes(), cudaMemcpyDefault, stream));
    if (transfer) CUDA_CHECK(cudaStreamSynchronize(stream));
  });
  ctx.debug_check("copy");
}

Tensor cast(Context& ctx, const Tensor& src, DType to) {
  require_on(ctx, src, "cast", "src");
  Tensor out = Tensor::empty(src.shape(), to, src.device());
  cast(ctx, src, out);
  return out;
}

void cast(Context& ctx, const Tensor& src, Tensor& dst) {
  require_on(ctx, src, "cast", "src");
  require_on(ctx, dst, "cast", "dst");
  CMT_CHECK(dtype_is_float(src.dtype()) && dtype_is_float(dst.dtype()),
            "cast: only float dtypes (f32, bf16, f16) are cast, got " << src.describe() << " -> " << dst.describe());
  CMT_CHECK(src.numel() == dst.numel(), "cast: size mismatch " << src.describe() << " -> " << dst.describe());
  CMT_DISPATCH(ctx, "cast", cuda::cast(src.raw(), src.dtype(), dst.raw(), dst.dtype(), src.numel(), ctx.compute_stream()),
               cpu::cast(src.raw(), src.dtype(), dst.raw(), dst.dtype(), src.numel()));
}

void axpy(Context& ctx, float alpha, const Tensor& x, Tensor& y) {
  require_on(ctx, x, "axpy", "x");
  require_on(ctx, y, "axpy", "y");
  CMT_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::bf16, "axpy: 'x' must be f32 or bf16, got " << x.describe());
  require_dtype(y, DType::f32, "axpy", "y");
  CMT_CHECK(x.shape() == y.shape(), "axpy: shape mismatch " << x.describe() << " vs " << y.describe());
  with_elem(x.dtype(), [&](auto elem) {
    using T = decltype(elem);
    CMT_DISPATCH(ctx, "axpy", cuda::axpy(alpha, elems<T>(x), y.data<float>(), x.numel(), ctx.compute_stream()),
                 cpu::axpy(alpha, elems<T>(x), y.data<float>(), x.numel()));
  });
}

void add_scalar_(Context& ctx, Tensor& y, float value) {
  require_on(ctx, y, "add_scalar_", "y");
  require_dtype(y, DType::f32, "add_scalar_", "y");
  CMT_DISPATCH(ctx, "add_scalar_", cuda::add_scalar_f32(y.data<float>(), y.numel(), value, ctx.compute_stream()),
               cpu::add_scalar_f32(y.data<float>(), y.numel(), value));
}

Tensor sum(Context& ctx, const Tensor& x) {
  require_on(ctx, x, "sum", "x");
  require_dtype(x, DType::f32, "sum", "x");
  Tensor out = Tensor::empty(Shape{1}, DType::f32, x.device());
  CMT_DISPATCH(ctx, "sum",
               {
                 void* ws = ctx.workspace(cuda::sum_workspace_bytes(x.numel()));
                 cuda::sum_f32(x.data<float>(), x.numel(), out.data<float>(), ws, ctx.compute_stream());
               },
               out.data<float>()[0] = static_cast<float>(cpu::sum_f32(x.data<float>(), x.numel())));
  return out;
}

Tensor mean(Context& ctx, const Tensor& x) {
  CMT_CHECK(x.defined() && x.numel() > 0, "mean: empty tensor " << x.describe());
  Tensor s = sum(ctx, x);
  Tensor zero = Tensor::empty(Shape{1}, DType::f32, x.device());
  fill(ctx, zero, 0.0);
  axpy(ctx, 1.0f / static_cast<float>(x.numel()), s, zero);
  return zero;
}

float item(const Tensor& scalar) {
  CMT_CHECK(scalar.defined() && scalar.numel() == 1 && scalar.dtype() == DType::f32,
            "item: expected a one-element f32 tensor, got " << scalar.describe());
  note_host_sync("item()");  // on any backend: on a GPU it waits for the stream
  return scalar.to_vector<float>()[0];
}

void uniform_(Context& ctx, Tensor& t, std::uint64_t seed, std::uint32_t stream, float lo, float hi) {
  require_on(ctx, t, "uniform_", "t");
  require_dtype(t, DType::f32, "uniform_", "t");
  CMT_CHECK(lo <= hi, "uniform_: lo " << lo << " > hi " << hi);
  const auto rs = rng::Stream::make(seed, 0, 0, stream);
  CMT_DISPATCH(ctx, "uniform_", cuda::uniform_f32(t.data<float>(), t.numel(), rs, lo, hi, ctx.compute_stream()),
               cpu::uniform_f32(t.data<float>(), t.numel(), rs, lo, hi));
}

void normal_(Context& ctx, Tensor& t, std::uint64_t seed, std::uint32_t stream, float mean_value, float stddev) {
  require_on(ctx, t, "normal_", "t");
  require_dtype(t, DType::f32, "normal_", "t");
  CMT_CHECK(stddev >= 0, "normal_: negative stddev " << stddev);
  const auto rs = rng::Stream::make(seed, 0, 0, stream);
  CMT_DISPATCH(ctx, "normal_", cuda::normal_f32(t.data<float>(), t.numel(), rs, mean_value, stddev, ctx.compute_stream()),
               cpu::normal_f32(t.data<float>(), t.numel(), rs, mean_value, stddev));
}

}  // namespace cmt::ops
