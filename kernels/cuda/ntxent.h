// CUDA launchers of the NT-Xent loss: fused forward (no similarity matrix in memory) and a backward
// that recomputes the similarities in row stripes of bounded size. Arithmetic as kernels/cpu/ntxent.cpp.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/common/stream.h"
#include "kernels/cpu/ntxent.h"  // NtXentDesc, kNtXentEps

namespace cmt::cuda {

// Forward: local (rows_local, dim), all (rows_total, dim) -> row_loss, pos_sim (rows_local) and
// loss[0] = sum(row_loss) / rows_total. Two launches (fused tiles with the keys split over blocks
// when the queries are few, then a merge + sum); O(rows) scratch.
std::size_t ntxent_forward_workspace_bytes(const NtXentDesc& desc);
void ntxent_forward(const NtXentDesc& desc, const float* local, const float* all, float* row_loss, float* pos_sim,
                    float* loss, void* workspace, cudaStream_t stream);

// Backward (see kernels/cpu/ntxent.h for the d_local / d_all split). The similarities of `stripe_rows`
// local rows at a time are recomputed with cuBLAS into scratch, turned into dL/ds in place, and
// multiplied back; stripe_rows = 0 picks the largest stripe within a 256 MB budget, so memory is
// O(rows * dim). When row_loss / pos_sim are given, the forward results come out of the same pass.
// tensor_cores: tf32 GEMMs with fp32 accumulation (else exact fp32).
std::int64_t ntxent_stripe_rows(const NtXentDesc& desc, std::int64_t stripe_rows);
std::size_t ntxent_backward_workspace_bytes(const NtXentDesc& desc, std::int64_t stripe_rows = 0);
void ntxent_backward(const NtXentDesc& desc, const float* local, const float* all, float dloss, float* d_local,
                     float* d_all, void* workspace, cublasHandle_t cublas, bool tensor_cores, cudaStream_t stream,
                     std::int64_t stripe_rows = 0, float* row_loss = nullptr, float* pos_sim = nullptr);

// Small single-rank batches (row_offset 0, local == all, 2N <= kNtXentSmallRows): forward and backward
// in two launches (row statistics, then gradients and the loss), no similarity matrix in memory.
// r (2N, dim) -> row_loss, pos_sim (2N), loss[0] (may be null), dr (2N, dim).
inline constexpr std::int64_t kNtXentSmallRows = 256;
bool ntxent_small_supported(const NtXentDesc& desc);
std::size_t ntxent_small_workspace_bytes(const NtXentDesc& desc);
void ntxent_small(const NtXentDesc& desc, const float* r, float dloss, float* row_loss, float* pos_sim, float* loss,
                  float* dr, void* workspace, cudaStream_t stream);

// loss[0] = sum(row_loss[0..n)) / rows_total, accumulated in double in a fixed order.
void ntxent_loss_sum(const float* row_loss, std::int64_t n, std::int64_t rows_total, float* loss, cudaStream_t stream);

}  // namespace cmt::cuda
