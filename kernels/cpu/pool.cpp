// CPU reference of pooling. The average backward passes gather over the windows that contain each input
// element, in increasing output order, exactly like the CUDA kernels, so both give the same sums.
#include "kernels/pool.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/channel_sums.h"
#include "kernels/cpu/clones.h"

namespace cmt::cpu {

namespace {

// Window of output (od, oh, ow) clipped to the input: [lo, hi) per dim.
void window(const PoolDesc& d, const int* o, int* lo, int* hi) {
  for (int a = 0; a < 3; ++a) {
    const int start = o[a] * d.s[a] - d.p[a];
    lo[a] = start < 0 ? 0 : start;
    hi[a] = start + d.k[a] > d.in[a] ? d.in[a] : start + d.k[a];
  }
}

void adaptive_window(const PoolDesc& d, const int* o, int* lo, int* hi) {
  for (int a = 0; a < 3; ++a) {
    lo[a] = adaptive_start(o[a], d.in[a], d.out[a]);
    hi[a] = adaptive_end(o[a], d.in[a], d.out[a]);
  }
}

// Calls fn(n, pos[3], index of (n, pos, channel 0)) for every position of a grid of extents ext (D,H,W).
template <typename Fn>
void for_each_position(const PoolDesc& d, const int* ext, Fn fn) {
  const std::int64_t total = d.n * ext[0] * ext[1] * ext[2];
#pragma omp parallel for schedule(static) if (total * d.c > (1 << 15))
  for (std::int64_t t = 0; t < total; ++t) {
    std::int64_t r = t;
    int o[3];
    o[2] = static_cast<int>(r % ext[2]);
    r /= ext[2];
    o[1] = static_cast<int>(r % ext[1]);
    r /= ext[1];
    o[0] = static_cast<int>(r % ext[0]);
    fn(r / ext[0], o, t * d.c);
  }
}

template <typename Fn>
void for_each_output(const PoolDesc& d, Fn fn) {
  for_each_position(d, d.out, fn);
}

template <typename Fn>
void for_each_input(const PoolDesc& d, Fn fn) {
  for_each_position(d, d.in, fn);
}

std::int64_t out_index(const PoolDesc& d, std::int64_t n, int od, int oh, int ow) {
  return (((n * d.out[0] + od) * d.out[1] + oh) * d.out[2] + ow) * d.c;
}

}  // namespace

CMT_CPU_CLONES void maxpool_forward(const PoolDesc& d, const float* x, float* y, std::int32_t* argmax) {
  for_each_output(d, [&](std::int64_t n, const int* o, std::int64_t yb) {
    int lo[3], hi[3];
    window(d, o, lo, hi);
    const float* xn = x + n * d.in_volume() * d.c;
    float* best = y + yb;
    std::int32_t* arg = argmax + yb;
    // torch's rule: start at the window's first element, take v when v > best or v is NaN. The
    // window is walked once with the channels innermost (contiguous, vectorisable), each channel
    // seeing the elements in the same order as a per-channel walk.
    const std::int32_t first = (lo[0] * d.in[1] + lo[1]) * d.in[2] + lo[2];
    for (std::int64_t c = 0; c < d.c; ++c) {
      best[c] = -std::numeric_limits<float>::infinity();
      arg[c] = first;
    }
    for (int a = lo[0]; a < hi[0]; ++a)
      for (int b = lo[1]; b < hi[1]; ++b)
        for (int e = lo[2]; e < hi[2]; ++e) {
          const std::int32_t idx = (a * d.in[1] + b) * d.in[2] + e;
          const float* v = xn + static_cast<std::int64_t>(idx) * d.c;
          for (std::int64_t c = 0; c < d.c; ++c) {
            const bool take = v[c] > best[c] || v[c] != v[c];
            best[c] = take ? v[c] : best[c];
            arg[c] = take ? idx : arg[c];
          }
        }
  });
}

CMT_CPU_CLONES void maxpool_backward(const PoolDesc& d, const float* dy, const std::int32_t* argmax, float* dx) {
  // Scatter in output order per sample (samples in parallel): dx[argmax] += dy, the channels of one
  // output position innermost (the same order of additions into each dx element as before).
  const std::int64_t in_size = d.in_volume() * d.c, positions = d.out_volume();
#pragma omp parallel for schedule(static) if (d.n * in_size > (1 << 15))
  for (std::int64_t n = 0; n < d.n; ++n) {
    float* dxn = dx + n * in_size;
    std::fill(dxn, dxn + in_size, 0.f);
    for (std::int64_t p = 0; p < positions; ++p) {
      const std::int64_t yb = (n * positions + p) * d.c;
      for (std::int64_t c = 0; c < d.c; ++c) dxn[static_cast<std::int64_t>(argmax[yb + c]) * d.c + c] += dy[yb + c];
    }
  }
}

void avgpool_forward(const PoolDesc& d, const float* x, float* y) {
  const float inv = 1.0f / static_cast<float>(d.k[0] * d.k[1] * d.k[2]);
  for_each_output(d, [&](std::int64_t n, const int* o, std::int64_t yb) {
    int lo[3], hi[3];
    window(d, o, lo, hi);
    const float* xn = x + n * d.in_volume() * d.c;
    for (std::int64_t c = 0; c < d.c; ++c) {
      float acc = 0.f;
      for (int a = lo[0]; a < hi[0]; ++a)
        for (int b = lo[1]; b < hi[1]; ++b)
          for (int e = lo[2]; e < hi[2]; ++e) acc += xn[((a * d.in[1] + b) * d.in[2] + e) * d.c + c];
      y[yb + c] = acc * inv;
    }
  });
}

void avgpool_backward(const PoolDesc& d, const float* dy, float* dx) {
  const float inv = 1.0f / static_cast<float>(d.k[0] * d.k[1] * d.k[2]);
  for_each_input(d, [&](std::int64_t n, const int* i, std::int64_t xb) {
    int lo[3], hi[3];
    for (int a = 0; a < 3; ++a) pool_out_range(i[a], d.k[a], d.s[a], d.p[a], d.out[a], lo[a], hi[a]);
    for (std::int64_t c = 0; c < d.c; ++c) {
      float acc = 0.f;
      for (int a = lo[0]; a < hi[0]; ++a)
        for (int b = lo[1]; b < hi[1]; ++b)
          for (int e = lo[2]; e < hi[2]; ++e) acc += dy[out_index(d, n, a, b, e) + c];
      dx[xb + c] = acc * inv;
    }
  });
}

void adaptive_avgpool_forward(const PoolDesc& d, const float* x, float* y) {
  for_each_output(d, [&](std::int64_t n, const int* o, std::int64_t yb) {
    int lo[3], hi[3];
    adaptive_window(d, o, lo, hi);
    const float inv = 1.0f / static_cast<float>((hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2]));
    const float* xn = x + n * d.in_volume() * d.c;
    for (std::int64_t c = 0; c < d.c; ++c) {
      float acc = 0.f;
      for (int a = lo[0]; a < hi[0]; ++a)
        for (int b = lo[1]; b < hi[1]; ++b)
          for (int e = lo[2]; e < hi[2]; ++e) acc += xn[((a * d.in[1] + b) * d.in[2] + e) * d.c + c];
      y[yb + c] = acc * inv;
    }
  });
}

void adaptive_avgpool_backward(const PoolDesc& d, const float* dy, float* dx) {
  for_each_input(d, [&](std::int64_t n, const int* i, std::int64_t xb) {
    for (std::int64_t c = 0; c < d.c; ++c) dx[xb + c] = 0.f;
    for (int a = 0; a < d.out[0]; ++a) {
      const int la = adaptive_start(a, d.in[0], d.out[0]), ha = adaptive_end(a, d.in[0], d.out[0]);
      if (i[0] < la || i[0] >= ha) continue;
      for (int b = 0; b < d.out[1]; ++b) {
        const int lb = adaptive_start(b, d.in[1], d.out[1]), hb = adaptive_end(b, d.in[1], d.out[1]);
        if (i[1] < lb || i[1] >= hb) continue;
        for (int e = 0; e < d.out[2]; ++e) {
          const int le = adaptive_start(e, d.in[2], d.out[2]), he = adaptive_end(e, d.in[2], d.out[2]);
          if (i[2] < le || i[2] >= he) continue;
          const float inv = 1.0f / static_cast<float>((ha - la) * (hb - lb) * (he - le));
          const float* g = dy + out_index(d, n, a, b, e);
          for (std::int64_t c = 0; c < d.c; ++c) dx[xb + c] += g[c] * inv;
        }
      }
    }
  });
}

// Rows of the sample read contiguously, channels in the inner loop (the adaptive kernel's one bin
// walks each channel at a stride of c floats).
void global_avgpool_forward(const float* x, float* y, std::int64_t n, std::int64_t sp, std::int64_t c) {
  std::vector<double> sums;
  for (std::int64_t b = 0; b < n; ++b) {
    const float* xb = x + b * sp * c;
    channel_sums<1>(sp, c, sums, [&](std::int64_t r, std::int64_t j) { return std::array<double, 1>{xb[r * c + j]}; });
    for (std::int64_t j = 0; j < c; ++j) y[b * c + j] = static_cast<float>(sums[static_cast<std::size_t>(j)] / static_cast<double>(sp));
  }
}

CMT_CPU_CLONES void global_avgpool_backward(const float* dy, float* dx, std::int64_t n, std::int64_t sp, std::int64_t c) {
  const float inv = 1.0f / static_cast<float>(sp);
#pragma omp parallel for schedule(static) if (n * sp * c > (1 << 16))
  for (std::int64_t r = 0; r < n * sp; ++r) {
    const float* g = dy + (r / sp) * c;
    for (std::int64_t j = 0; j < c; ++j) dx[r * c + j] = g[j] * inv;
  }
}

}  // namespace cmt::cpu
