// The inline PTX of the CUDA kernels (mma.sync, ldmatrix, cp.async, cvt.rna.tf32), one device function each.
// Under the emulated device (emu/) each calls the emulator's model of the instruction instead.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace cmt::cuda::ptx {

// c += a * b: mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 (a: 4 tf32 regs, b: 2, c: 4 floats per lane).
__device__ __forceinline__ void mma_m16n8k8_tf32(float (&c)[4], const std::uint32_t (&a)[4], const std::uint32_t (&b)[2]) {
#if defined(CMT_EMULATED)
  const float cin[4] = {c[0], c[1], c[2], c[3]};
  ::cmt::emu::mma_m16n8k8_tf32(c, a, b, cin);
#else
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

// c += a * b: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 (a: 4 regs of bf16 pairs, b: 2, c: 4 floats).
__device__ __forceinline__ void mma_m16n8k16_bf16(float (&c)[4], const std::uint32_t (&a)[4], const std::uint32_t (&b)[2]) {
#if defined(CMT_EMULATED)
  const float cin[4] = {c[0], c[1], c[2], c[3]};
  ::cmt::emu::mma_m16n8k16_bf16(c, a, b, cin);
#else
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

// cp.async.cg.shared.global of 16 bytes; src_bytes < 16 reads that many and zero-fills the rest
// (0: no global read at all).
__device__ __forceinline__ void cp_async_cg16(void* smem, const void* gmem, int src_bytes) {
#if defined(CMT_EMULATED)
  ::cmt::emu::cp_async16(smem, gmem, src_bytes);
#else
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(src_bytes));
#endif
}

// cp.async.commit_group: closes the group of copies issued since the last commit.
__device__ __forceinline__ void cp_async_commit_group() {
#if defined(CMT_EMULATED)
  ::cmt::emu::cp_async_commit();
#else
  asm volatile("cp.async.commit_group;\n" ::);
#endif
}

// cp.async.wait_group N: waits until at most N committed groups are still in flight (N is an immediate).
template <int N>
__device__ __forceinline__ void cp_async_wait_group() {
#if defined(CMT_EMULATED)
  ::cmt::emu::cp_async_wait(N);
#else
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
#endif
}

// cvt.rna.tf32.f32: v rounded to tf32 (nearest, ties away from zero), as its 32-bit pattern.
__device__ __forceinline__ std::uint32_t cvt_rna_tf32(float v) {
#if defined(CMT_EMULATED)
  return ::cmt::emu::cvt_rna_tf32(v);
#else
  std::uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(v));
  return r;
#endif
}

// ldmatrix.sync.aligned.m8n8.x{N}[.trans].shared.b16, N = 1, 2 or 4: lane l passes the shared-memory
// address of row l % 8 of matrix l / 8 (lanes beyond 8 * N are ignored) and receives r[0..N).
template <int N, bool Trans = false>
__device__ __forceinline__ void ldmatrix(std::uint32_t (&r)[N], const void* smem_row) {
  static_assert(N == 1 || N == 2 || N == 4, "ldmatrix loads 1, 2 or 4 matrices");
#if defined(CMT_EMULATED)
  ::cmt::emu::ldmatrix(r, N, Trans, smem_row);
#else
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem_row));
  if constexpr (N == 1 && !Trans) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x1.shared.b16 {%0}, [%1];\n" : "=r"(r[0]) : "r"(s));
  } else if constexpr (N == 1) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x1.trans.shared.b16 {%0}, [%1];\n" : "=r"(r[0]) : "r"(s));
  } else if constexpr (N == 2 && !Trans) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];\n" : "=r"(r[0]), "=r"(r[1]) : "r"(s));
  } else if constexpr (N == 2) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0,%1}, [%2];\n" : "=r"(r[0]), "=r"(r[1]) : "r"(s));
  } else if constexpr (!Trans) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(s));
  } else {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(s));
  }
#endif
}

}  // namespace cmt::cuda::ptx
