// CPU reference of the NT-Xent loss (normalised-temperature cross entropy), forward and backward.
#pragma once
#include <cstdint>

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
