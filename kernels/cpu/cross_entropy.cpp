// CPU reference of softmax cross-entropy: log-softmax with the row maximum subtracted, sums in double.
#include "kernels/cross_entropy.h"

#include <cmath>

#include "kernels/common/check.h"

namespace cmt::cpu {

void cross_entropy_forward(const float* logits, const std::int32_t* labels, const float* weights, float smoothing,
                           std::int64_t n, std::int64_t k, float* probs, float* loss, float* weight_sum) {
  double total = 0, wsum = 0;
  for (std::int64_t r = 0; r < n; ++r) {
    const std::int32_t y = labels[r];
    CMT_CHECK(y >= 0 && y < k, "cross_entropy: label " << y << " of row " << r << " is outside [0, " << k << ")");
    const float* z = logits + r * k;
    float mx = z[0];
    for (std::int64_t j = 1; j < k; ++j) mx = std::fmax(mx, z[j]);
    double se = 0;
    for (std::int64_t j = 0; j < k; ++j) se += std::exp(static_cast<double>(z[j]) - mx);
    const double lse = std::log(se) + mx;
    double smooth = 0;
    for (std::int64_t j = 0; j < k; ++j) {
      const double logp = z[j] - lse;
      probs[r * k + j] = static_cast<float>(std::exp(logp));
      smooth -= (weights ? weights[j] : 1.0) * logp;
    }
    const double wy = weights ? weights[y] : 1.0;
    total += (1.0 - smoothing) * wy * -(z[y] - lse) + smoothing / static_cast<double>(k) * smooth;
    wsum += wy;
  }
  *loss = static_cast<float>(total / wsum);
  *weight_sum = static_cast<float>(wsum);
}

void cross_entropy_backward(const float* probs, const std::int32_t* labels, const float* weights, float smoothing,
                            std::int64_t n, std::int64_t k, float weight_sum, float dloss, float* dlogits) {
  float wk_sum = 0;  // sum_j w[j]
  for (std::int64_t j = 0; j < k; ++j) wk_sum += weights ? weights[j] : 1.f;
  const float g = dloss / weight_sum, ls_k = smoothing / static_cast<float>(k);
  for (std::int64_t r = 0; r < n; ++r) {
    const std::int32_t y = labels[r];
    CMT_CHECK(y >= 0 && y < k, "cross_entropy_backward: label " << y << " of row " << r << " is outside [0, " << k << ")");
    const float wy = weights ? weights[y] : 1.f;
    const float a_n = (1.f - smoothing) * wy + ls_k * wk_sum;
    for (std::int64_t j = 0; j < k; ++j) {
      const float a = (j == y ? (1.f - smoothing) * wy : 0.f) + ls_k * (weights ? weights[j] : 1.f);
      dlogits[r * k + j] = g * (a_n * probs[r * k + j] - a);
    }
  }
}

}  // namespace cmt::cpu
