// CPU reference of the NT-Xent loss: direct loops, double-precision accumulation, O(rows * dim) memory.
#include "kernels/ntxent.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace cmt::cpu {

namespace {

// Unit rows u = r / max(|r|, eps) in double, and the norms |r| (needed by the Jacobian).
void normalise(const float* x, std::int64_t rows, std::int64_t dim, std::vector<double>& u, std::vector<double>& norm) {
  u.assign(static_cast<std::size_t>(rows * dim), 0.0);
  norm.assign(static_cast<std::size_t>(rows), 0.0);
#pragma omp parallel for schedule(static) if (rows * dim > (1 << 16))
  for (std::int64_t i = 0; i < rows; ++i) {
    double ss = 0;
    for (std::int64_t c = 0; c < dim; ++c) ss += static_cast<double>(x[i * dim + c]) * x[i * dim + c];
    norm[static_cast<std::size_t>(i)] = std::sqrt(ss);
    const double inv = 1.0 / std::max(std::sqrt(ss), static_cast<double>(kNtXentEps));
    for (std::int64_t c = 0; c < dim; ++c) u[static_cast<std::size_t>(i * dim + c)] = x[i * dim + c] * inv;
  }
}

double dot(const double* a, const double* b, std::int64_t dim) {
  double s = 0;
  for (std::int64_t c = 0; c < dim; ++c) s += a[c] * b[c];
  return s;
}

// Log-sum-exp of sim(i, k) / tau over k != gi (the global index of row i), from unit rows.
double row_lse(const double* ui, const std::vector<double>& ua, std::int64_t gi, const NtXentDesc& d) {
  double m = -std::numeric_limits<double>::infinity(), s = 0;
  for (std::int64_t k = 0; k < d.rows_total; ++k) {
    if (k == gi) continue;
    const double z = dot(ui, &ua[static_cast<std::size_t>(k * d.dim)], d.dim) / d.tau;
    if (z > m) {
      s = s * std::exp(m - z) + 1.0;
      m = z;
    } else {
      s += std::exp(z - m);
    }
  }
  return m + std::log(s);
}

// dr = J du with J = (I - u u^T) / |r| for |r| > eps, I / eps otherwise (u = r / eps is linear there).
void apply_jacobian(const std::vector<double>& u, const std::vector<double>& norm, const std::vector<double>& du,
                    std::int64_t rows, std::int64_t dim, float* out) {
#pragma omp parallel for schedule(static) if (rows * dim > (1 << 16))
  for (std::int64_t i = 0; i < rows; ++i) {
    const double* ui = &u[static_cast<std::size_t>(i * dim)];
    const double* gi = &du[static_cast<std::size_t>(i * dim)];
    const double n = norm[static_cast<std::size_t>(i)];
    const bool project = n > kNtXentEps;
    const double proj = project ? dot(ui, gi, dim) : 0.0;
    const double inv = 1.0 / std::max(n, static_cast<double>(kNtXentEps));
    for (std::int64_t c = 0; c < dim; ++c) out[i * dim + c] = static_cast<float>((gi[c] - ui[c] * proj) * inv);
  }
}

}  // namespace

double ntxent_forward(const NtXentDesc& d, const float* local, const float* all, float* row_loss, float* pos_sim) {
  std::vector<double> ul, ua, nl, na;
  normalise(local, d.rows_local, d.dim, ul, nl);
  normalise(all, d.rows_total, d.dim, ua, na);
  double total = 0;
#pragma omp parallel for schedule(static) reduction(+ : total) if (d.rows_local * d.rows_total * d.dim > (1 << 18))
  for (std::int64_t i = 0; i < d.rows_local; ++i) {
    const std::int64_t gi = d.row_offset + i;
    const double* ui = &ul[static_cast<std::size_t>(i * d.dim)];
    const double pos = dot(ui, &ua[static_cast<std::size_t>((gi ^ 1) * d.dim)], d.dim);
    const double li = row_lse(ui, ua, gi, d) - pos / d.tau;
    row_loss[i] = static_cast<float>(li);
    pos_sim[i] = static_cast<float>(pos);
    total += li;
  }
  return total;
}

double ntxent_backward(const NtXentDesc& d, const float* local, const float* all, float dloss, float* d_local,
                       float* d_all, float* row_loss, float* pos_sim) {
  std::vector<double> ul, ua, nl, na;
  normalise(local, d.rows_local, d.dim, ul, nl);
  normalise(all, d.rows_total, d.dim, ua, na);
  std::vector<double> lse(static_cast<std::size_t>(d.rows_local));
  const bool big = d.rows_local * d.rows_total * d.dim > (1 << 18);
#pragma omp parallel for schedule(static) if (big)
  for (std::int64_t i = 0; i < d.rows_local; ++i)
    lse[static_cast<std::size_t>(i)] = row_lse(&ul[static_cast<std::size_t>(i * d.dim)], ua, d.row_offset + i, d);
  double total = 0;
  if (row_loss != nullptr && pos_sim != nullptr) {
    for (std::int64_t i = 0; i < d.rows_local; ++i) {  // the forward's arithmetic, from the same lse
      const std::int64_t gi = d.row_offset + i;
      const double pos = dot(&ul[static_cast<std::size_t>(i * d.dim)], &ua[static_cast<std::size_t>((gi ^ 1) * d.dim)], d.dim);
      const double li = lse[static_cast<std::size_t>(i)] - pos / d.tau;
      row_loss[i] = static_cast<float>(li);
      pos_sim[i] = static_cast<float>(pos);
      total += li;
    }
  }

  // dl/ds(i, k) for L = mean over rows_total: (softmax(i, k) - [k is the partner]) / (tau * rows_total).
  const double scale = static_cast<double>(dloss) / (static_cast<double>(d.rows_total) * d.tau);
  auto g = [&](std::int64_t i, std::int64_t k, double s) {
    const std::int64_t gi = d.row_offset + i;
    if (k == gi) return 0.0;
    const double p = std::exp(s / d.tau - lse[static_cast<std::size_t>(i)]);
    return scale * (p - (k == (gi ^ 1) ? 1.0 : 0.0));
  };

  // Query part: du_i = sum_k g(i, k) u_k. Key part: du_k = sum_i g(i, k) u_i. Each loop owns its output.
  std::vector<double> du_local(static_cast<std::size_t>(d.rows_local * d.dim), 0.0);
  std::vector<double> du_all(static_cast<std::size_t>(d.rows_total * d.dim), 0.0);
#pragma omp parallel for schedule(static) if (big)
  for (std::int64_t i = 0; i < d.rows_local; ++i) {
    const double* ui = &ul[static_cast<std::size_t>(i * d.dim)];
    double* out = &du_local[static_cast<std::size_t>(i * d.dim)];
    for (std::int64_t k = 0; k < d.rows_total; ++k) {
      const double* uk = &ua[static_cast<std::size_t>(k * d.dim)];
      const double gik = g(i, k, dot(ui, uk, d.dim));
      for (std::int64_t c = 0; c < d.dim; ++c) out[c] += gik * uk[c];
    }
  }
#pragma omp parallel for schedule(static) if (big)
  for (std::int64_t k = 0; k < d.rows_total; ++k) {
    const double* uk = &ua[static_cast<std::size_t>(k * d.dim)];
    double* out = &du_all[static_cast<std::size_t>(k * d.dim)];
    for (std::int64_t i = 0; i < d.rows_local; ++i) {
      const double* ui = &ul[static_cast<std::size_t>(i * d.dim)];
      const double gik = g(i, k, dot(ui, uk, d.dim));
      for (std::int64_t c = 0; c < d.dim; ++c) out[c] += gik * ui[c];
    }
  }
  apply_jacobian(ul, nl, du_local, d.rows_local, d.dim, d_local);
  apply_jacobian(ua, na, du_all, d.rows_total, d.dim, d_all);
  return total;
}

}  // namespace cmt::cpu
