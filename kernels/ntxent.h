// The NT-Xent loss (normalised-temperature cross entropy), forward and backward.
// cmt::cpu holds the CPU reference, cmt::cuda the CUDA launchers with the same contract. The CUDA part
// needs no CUDA headers (kernels/common/stream.h forward-declares the handle types) and is declared
// only in CUDA builds, the only ones that define it.
#pragma once
#include <cstddef>
#include <cstdint>

// CPU reference.
namespace cmt {

// The one description of an NT-Xent problem, shared by the CPU and CUDA backends. Query rows are
// `rows_local` rows of the local block, which are rows [row_offset, row_offset + rows_local) of the
// `rows_total` gathered key rows; row 2k and 2k+1 (global numbering) are partners.
struct NtXentDesc {
  std::int64_t rows_local = 0;
  std::int64_t rows_total = 0;
  std::int64_t row_offset = 0;
  std::int64_t dim = 0;
  float tau = 0.1f;
};

// Guards the normalisation of zero rows: u = r / max(|r|, eps), as torch.nn.functional.normalize.
inline constexpr float kNtXentEps = 1e-8f;

}  // namespace cmt

namespace cmt::cpu {

// local (rows_local, dim), all (rows_total, dim); writes row_loss and pos_sim (rows_local each) and
// returns the sum of row_loss in double (the caller divides by rows_total).
double ntxent_forward(const NtXentDesc& desc, const float* local, const float* all, float* row_loss, float* pos_sim);

// Gradient of dloss * L, L = sum(row_loss) / rows_total, split in two parts:
// d_local (rows_local, dim): through each local row as a query (its own softmax);
// d_all (rows_total, dim): through every gathered row as a key of the local rows' softmaxes.
// Summed over ranks (d_local placed at its offset) this is the single-rank gradient.
// When row_loss / pos_sim are given, the forward's results come out of the same pass (the softmax
// statistics are computed once) and the sum of row_loss is returned; otherwise 0.
double ntxent_backward(const NtXentDesc& desc, const float* local, const float* all, float dloss, float* d_local,
                       float* d_all, float* row_loss = nullptr, float* pos_sim = nullptr);

}  // namespace cmt::cpu

#if defined(CMT_WITH_CUDA)
#include "kernels/common/stream.h"

// CUDA launchers. Fused forward (no similarity matrix in memory) and a backward that recomputes the similarities in row
// stripes of bounded size; arithmetic as kernels/cpu/ntxent.cpp.
namespace cmt::cuda {

// Forward: local (rows_local, dim), all (rows_total, dim) -> row_loss, pos_sim (rows_local) and
// loss[0] = sum(row_loss) / rows_total. Two launches (fused tiles with the keys split over blocks
// when the queries are few, then a merge + sum); O(rows) scratch.
std::size_t ntxent_forward_workspace_bytes(const NtXentDesc& desc);
void ntxent_forward(const NtXentDesc& desc, const float* local, const float* all, float* row_loss, float* pos_sim,
                    float* loss, void* workspace, cudaStream_t stream);

// Backward (the d_local / d_all split as on the CPU above). The similarities of `stripe_rows`
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
#endif  // CMT_WITH_CUDA
