// Argument checks shared by the layer op families: each names the op and the argument in its message.
#pragma once
#include <type_traits>

#include "engine/context.h"
#include "engine/tensor.h"
#include "kernels/common/check.h"

namespace cmt::ops::detail {

inline void require_defined(const Tensor& t, const char* op, const char* name) {
  CMT_CHECK(t.defined(), op << ": argument '" << name << "' is an undefined tensor");
}

inline void require_on(const Context& ctx, const Tensor& t, const char* op, const char* name) {
  require_defined(t, op, name);
  CMT_CHECK(t.device() == ctx.device(),
            op << ": '" << name << "' is on " << t.device().str() << " but the context is on " << ctx.device().str());
}

inline void require_dtype(const Tensor& t, DType dtype, const char* op, const char* name) {
  CMT_CHECK(t.dtype() == dtype, op << ": '" << name << "' must be " << dtype_name(dtype) << ", got " << t.describe());
}

// Defined, on ctx's device, f32.
inline void require_f32(const Context& ctx, const Tensor& t, const char* op, const char* name) {
  require_on(ctx, t, op, name);
  require_dtype(t, DType::f32, op, name);
}

// Defined, on ctx's device, f32 or bf16 (the memory-bound ops that also run on bf16 activations).
inline void require_f32_or_bf16(const Context& ctx, const Tensor& t, const char* op, const char* name) {
  require_on(ctx, t, op, name);
  CMT_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::bf16,
            op << ": '" << name << "' must be f32 or bf16, got " << t.describe());
}

// `why`, when given, ends the message in parentheses (the rule the op follows).
inline void require_same_dtype(const Tensor& a, const Tensor& b, const char* op, const char* an, const char* bn,
                               const char* why = nullptr) {
  CMT_CHECK(a.dtype() == b.dtype(), op << ": dtype mismatch, '" << an << "' is " << a.describe() << " but '" << bn
                                       << "' is " << b.describe() << (why ? " (" : "") << (why ? why : "")
                                       << (why ? ")" : ""));
}

inline void require_rank(const Tensor& t, int rank, const char* op, const char* name) {
  CMT_CHECK(t.rank() == rank, op << ": '" << name << "' must have rank " << rank << ", got " << t.describe());
}

inline void require_same_shape(const Tensor& a, const Tensor& b, const char* op, const char* an, const char* bn) {
  CMT_CHECK(a.shape() == b.shape(),
            op << ": shape mismatch, '" << an << "' is " << a.describe() << " but '" << bn << "' is " << b.describe());
}

// A [c] vector argument (gamma, beta, running stats, bias).
inline void require_vector(const Context& ctx, const Tensor& t, std::int64_t c, const char* op, const char* name) {
  require_f32(ctx, t, op, name);
  CMT_CHECK(t.rank() == 1 && t.dim(0) == c, op << ": '" << name << "' must be f32[" << c << "], got " << t.describe());
}

// f32 data as float, bf16 as its bits (the element types the f32/bf16 kernels are instantiated for).
template <typename T>
T* elems(const Tensor& t) {
  if constexpr (std::is_same_v<T, float>) return t.data<float>();
  else return t.data_u16();
}

// Calls fn(T{}) with T = float for an f32 tensor and std::uint16_t (its bits) for a bf16 one: the
// CUDA launchers are templates on the element type.
template <typename Fn>
void with_elem(DType dtype, Fn&& fn) {
  if (dtype == DType::bf16) fn(std::uint16_t{});
  else fn(float{});
}

[[noreturn]] inline void no_cuda(const char* op) { CMT_THROW(op << ": CUDA tensor but cmt was built without CUDA"); }

}  // namespace cmt::ops::detail

// Runs `cuda_call` for a CUDA context, `cpu_call` otherwise; then the debug check names the op. The
// CUDA call is compiled only in CUDA builds; elsewhere a CUDA context gets the one "built without
// CUDA" error. Every op of engine/ops dispatches through it.
#if defined(CMT_WITH_CUDA)
#define CMT_DISPATCH(ctx, op, cuda_call, cpu_call) \
  do {                                            \
    if ((ctx).is_cuda()) {                        \
      cuda_call;                                  \
    } else {                                      \
      cpu_call;                                   \
    }                                             \
    (ctx).debug_check(op);                        \
  } while (0)
#else
#define CMT_DISPATCH(ctx, op, cuda_call, cpu_call)                 \
  do {                                                            \
    if ((ctx).is_cuda()) ::cmt::ops::detail::no_cuda(op);          \
    cpu_call;                                                     \
    (ctx).debug_check(op);                                        \
  } while (0)
#endif

// A path that exists only on the CUDA backend (device copies, CUDA-only fast paths): `cuda_call` in
// CUDA builds, the "built without CUDA" error elsewhere.
#if defined(CMT_WITH_CUDA)
#define CMT_CUDA_ONLY(op, cuda_call) \
  do {                               \
    cuda_call;                       \
  } while (0)
#else
#define CMT_CUDA_ONLY(op, cuda_call) ::cmt::ops::detail::no_cuda(op)
#endif
