// Per-pixel application of an augmentation plan, shared by the CPU and CUDA backends: an output pixel
// walks the plan backwards to find which input pixel it reads (flip, rotate and shuffle are gathers),
// then applies the value transforms (curve, noise, painting) forwards. One read, one write per pixel.
#pragma once
#include <cmath>
#include <cstdint>

#include "augment_params.h"

namespace cmt::aug {

// log Gamma without the host's side effect: libm's lgammaf writes the global signgam (a data race
// between OpenMP threads, and between emulated device threads); the device's has no such state.
CMT_HD float log_gamma(float x) {
#if defined(__CUDA_ARCH__)
  return lgammaf(x);
#else
  int sign = 0;
  return lgammaf_r(x, &sign);
#endif
}

struct Pos {
  std::int32_t z, y, x;
};

CMT_HD std::uint32_t linear(Pos p, Dims dm) {
  return (static_cast<std::uint32_t>(p.z) * static_cast<std::uint32_t>(dm.h) + static_cast<std::uint32_t>(p.y)) *
             static_cast<std::uint32_t>(dm.w) +
         static_cast<std::uint32_t>(p.x);
}

// A keyed bijection of [0, n): a 4-round Feistel network on the next even power of two, with
// cycle walking back into [0, n). Integer-only, so identical on host and device.
CMT_HD std::uint32_t feistel_mix(std::uint32_t v) {
  v *= 0x9E3779B1u;
  v ^= v >> 15;
  v *= 0x85EBCA77u;
  v ^= v >> 13;
  return v;
}
CMT_HD std::uint32_t permute_index(std::uint32_t j, std::uint32_t n, rng::Words4 keys) {
  int bits = 2;
  while ((1u << bits) < n) bits += 2;
  const int half = bits / 2;
  const std::uint32_t mask = (1u << half) - 1u;
  std::uint32_t x = j;
  do {
    std::uint32_t l = x >> half, r = x & mask;
    for (int round = 0; round < 4; ++round) {
      const std::uint32_t f = feistel_mix(r ^ keys.w[round]) & mask;
      const std::uint32_t nl = r;
      r = l ^ f;
      l = nl;
    }
    x = (l << half) | r;
  } while (x >= n);
  return x;
}

// One round of local pixel shuffling: cells of side P.cell tile the volume from a grid offset (0 in
// round 0, random in later rounds; cells cut by the border are clipped), each cell holds at most one
// window, so a round's windows never overlap. Round r > 0 draws from its own stream (op bits 24..29).
struct ShuffleRound {
  rng::Stream stream;
  std::int32_t off[3];  // (z, y, x): cells start at k * cell - off
};
CMT_HD ShuffleRound shuffle_round(const StepParams& P, const Config& cfg, Dims dm, int round) {
  ShuffleRound g{P.stream, {0, 0, 0}};
  if (round == 0) return g;
  g.stream.op = P.stream.op | (static_cast<std::uint32_t>(round) << kShuffleRoundShift);
  const rng::Words4 w = g.stream.draw(kShuffleOffsetBlock);
  const bool vol = cfg.volumetric && dm.d > 1;
  g.off[0] = vol ? static_cast<std::int32_t>(rng::uniform_int(w.w[0], static_cast<std::uint32_t>(P.cell[0]))) : 0;
  g.off[1] = static_cast<std::int32_t>(rng::uniform_int(w.w[1], static_cast<std::uint32_t>(P.cell[1])));
  g.off[2] = static_cast<std::int32_t>(rng::uniform_int(w.w[2], static_cast<std::uint32_t>(P.cell[2])));
  return g;
}

// The cell of coordinate q along an axis of n pixels (cells of side c from offset o): its index, the
// number of cells, and its extent [lo, lo + len) clipped to the axis.
struct CellSpan {
  std::int32_t index, count, lo, len;
};
CMT_HD CellSpan cell_span(std::int32_t q, std::int32_t n, std::int32_t c, std::int32_t o) {
  CellSpan s;
  s.index = (q + o) / c;
  s.count = (n + o + c - 1) / c;
  const std::int32_t lo = s.index * c - o, hi = lo + c;
  s.lo = lo < 0 ? 0 : lo;
  s.len = (hi > n ? n : hi) - s.lo;
  return s;
}

// The shuffle window of the cell holding p in one round, if any: origin and sides (z, y, x). False
// when p is in no window. Sides and offsets come from 16-bit halves of one Philox block per cell.
struct Window {
  Pos origin;
  std::int32_t sz, sy, sx;
  std::uint32_t cell;
};
CMT_HD bool shuffle_window(const StepParams& P, const Config& cfg, Dims dm, Pos p, Window& win, const ShuffleRound& g) {
  const bool vol = cfg.volumetric && dm.d > 1;
  const CellSpan y = cell_span(p.y, dm.h, P.cell[1], g.off[1]), x = cell_span(p.x, dm.w, P.cell[2], g.off[2]);
  const CellSpan z = vol ? cell_span(p.z, dm.d, P.cell[0], g.off[0]) : CellSpan{cfg.per_slice ? p.z : 0, 1, p.z, 1};
  win.cell = (static_cast<std::uint32_t>(z.index) * static_cast<std::uint32_t>(y.count) + static_cast<std::uint32_t>(y.index)) *
                 static_cast<std::uint32_t>(x.count) +
             static_cast<std::uint32_t>(x.index);
  const rng::Words4 w = g.stream.draw(2u * win.cell);
  if ((w.w[0] >> 8) >= P.cell_threshold) return false;
  auto pick = [](std::uint32_t half16, std::int32_t n) { return static_cast<std::int32_t>((half16 * static_cast<std::uint32_t>(n)) >> 16); };
  win.sy = 1 + pick(w.w[1] & 0xFFFFu, y.len);
  win.sx = 1 + pick(w.w[1] >> 16, x.len);
  win.origin.y = y.lo + pick(w.w[2] & 0xFFFFu, y.len - win.sy + 1);
  win.origin.x = x.lo + pick(w.w[2] >> 16, x.len - win.sx + 1);
  if (vol) {
    win.sz = 1 + pick(w.w[3] & 0xFFFFu, z.len);
    win.origin.z = z.lo + pick(w.w[3] >> 16, z.len - win.sz + 1);
  } else {
    win.sz = 1;
    win.origin.z = p.z;
  }
  const std::int32_t lz = p.z - win.origin.z, ly = p.y - win.origin.y, lx = p.x - win.origin.x;
  return lz >= 0 && lz < win.sz && ly >= 0 && ly < win.sy && lx >= 0 && lx < win.sx;
}

// Where p reads from in one round: its window's keyed permutation, or p itself outside windows.
CMT_HD Pos shuffle_source(const StepParams& P, const Config& cfg, Dims dm, Pos p, const ShuffleRound& g) {
  Window win;
  if (!shuffle_window(P, cfg, dm, p, win, g)) return p;
  const std::uint32_t n = static_cast<std::uint32_t>(win.sz * win.sy * win.sx);
  const std::uint32_t j =
      static_cast<std::uint32_t>(((p.z - win.origin.z) * win.sy + (p.y - win.origin.y)) * win.sx + (p.x - win.origin.x));
  const std::int32_t k = static_cast<std::int32_t>(permute_index(j, n, g.stream.draw(2u * win.cell + 1u)));
  return Pos{win.origin.z + k / (win.sy * win.sx), win.origin.y + (k / win.sx) % win.sy, win.origin.x + k % win.sx};
}

CMT_HD std::int32_t shuffle_rounds(const Config& cfg) {
  return cfg.shuffle_rounds < 1 ? 1 : (cfg.shuffle_rounds > kMaxShuffleRounds ? kMaxShuffleRounds : cfg.shuffle_rounds);
}

// Where the output pixel p of one step reads from in that step's input.
CMT_HD Pos source_of(const StepParams& P, const Config& cfg, Dims dm, Pos p) {
  switch (P.t) {
    case Transform::flip:
      if (P.flip_mask & kAxisW) p.x = dm.w - 1 - p.x;
      if (P.flip_mask & kAxisH) p.y = dm.h - 1 - p.y;
      if (P.flip_mask & kAxisD) p.z = dm.d - 1 - p.z;
      return p;
    case Transform::rotate: {  // numpy.rot90(k, axes=(H, W)); odd k needs H == W
      const Pos q = p;
      if (P.rot_k == 1) { p.y = q.x; p.x = dm.w - 1 - q.y; }
      if (P.rot_k == 2) { p.y = dm.h - 1 - q.y; p.x = dm.w - 1 - q.x; }
      if (P.rot_k == 3) { p.y = dm.h - 1 - q.x; p.x = q.y; }
      return p;
    }
    case Transform::shuffle:  // the rounds applied in sequence: walk back from the last
      for (std::int32_t r = shuffle_rounds(cfg) - 1; r >= 0; --r) p = shuffle_source(P, cfg, dm, p, shuffle_round(P, cfg, dm, r));
      return p;
    default:
      return p;
  }
}

// Cubic Bezier coordinate with end points 0 and 1 and inner points p1, p2, in exactly rounded ops.
CMT_HD float bezier1(float t, float p1, float p2) {
  const float u = fadd(1.f, -t);
  const float three_u = fmul(3.f, u);
  // 3 u^2 t p1 + 3 u t^2 p2 + t^3 = t * (3u(u p1 + t p2) + t^2)
  const float inner = fadd(fmul(three_u, fadd(fmul(u, p1), fmul(t, p2))), fmul(t, t));
  return fmul(t, inner);
}

// The curve maps x to y(t) where x(t) = x: t by bisection (x(t) is monotone for inner points in
// [0, 1]), to float resolution. Inverted curves read y(1 - t). Above x = 1/2 the mirrored curve
// 1 - B(1 - t) = B(t; 1 - p2, 1 - p1) is solved for 1 - x instead, so both ends are resolved
// to float precision near 0 (1 - x is exact there), and the ends map exactly to 0 and 1.
CMT_HD float solve_bezier(float target, float p1, float p2) {
  float lo = 0.f, hi = 1.f;
  for (int i = 0; i < 40; ++i) {
    const float mid = fmul(0.5f, fadd(lo, hi));
    if (mid <= lo || mid >= hi) break;
    if (bezier1(mid, p1, p2) < target) lo = mid; else hi = mid;
  }
  return target <= 0.f ? 0.f : fmul(0.5f, fadd(lo, hi));
}
CMT_HD float bezier_map(const StepParams& P, float v) {
  v = v < 0.f ? 0.f : (v > 1.f ? 1.f : v);
  const bool upper = v > 0.5f;
  const float s = upper ? solve_bezier(fadd(1.f, -v), fadd(1.f, -P.c), fadd(1.f, -P.a)) : solve_bezier(v, P.a, P.c);
  // The curve parameter read for y is s itself or 1 - s.
  const float y = (upper != (P.invert != 0)) ? fadd(1.f, -bezier1(s, fadd(1.f, -P.d), fadd(1.f, -P.b))) : bezier1(s, P.b, P.d);
  return y < 0.f ? 0.f : (y > 1.f ? 1.f : y);
}

// Poisson(lambda): inversion by sequential search below 10 (one uniform, exact up to the float
// CDF), Hoermann's transformed rejection (PTRS, as in numpy) above. Uniforms come from blocks
// e, e + n, e + 2n, ... of the pixel stream.
CMT_HD std::int32_t poisson_sample(rng::Stream s, std::uint32_t e, std::uint32_t n, float lambda) {
  if (!(lambda > 0.f)) return 0;
  if (lambda < 10.f) {
    const float u = rng::uniform01(s.draw(e).w[0]);
    float p = expf(-lambda), cdf = p;
    std::int32_t k = 0;
    while (u > cdf && k < 64) {
      ++k;
      p = p * lambda / static_cast<float>(k);
      cdf += p;
    }
    return k;
  }
  const float slam = sqrtf(lambda), loglam = logf(lambda);
  const float b = 0.931f + 2.53f * slam, a = -0.059f + 0.02483f * b;
  const float invalpha = 1.1239f + 1.1328f / (b - 3.4f), vr = 0.9277f - 3.6224f / (b - 2.f);
  for (std::uint32_t blk = 0; blk < 32; ++blk) {
    const rng::Words4 w = s.draw(e + blk * n);
    for (int h = 0; h < 2; ++h) {
      const float U = rng::uniform01(w.w[2 * h]) - 0.5f, V = rng::uniform_open0(w.w[2 * h + 1]);
      const float us = 0.5f - fabsf(U);
      const float kf = floorf((2.f * a / us + b) * U + lambda + 0.43f);
      if (us >= 0.07f && V <= vr) return static_cast<std::int32_t>(kf);
      if (kf < 0.f || (us < 0.013f && V > us)) continue;
      if (logf(V) + logf(invalpha) - logf(a / (us * us) + b) <= -lambda + kf * loglam - log_gamma(kf + 1.f))
        return static_cast<std::int32_t>(kf);
    }
  }
  return static_cast<std::int32_t>(lambda + 0.5f);  // 64 rejections in a row: practically never
}

CMT_HD bool in_box(const Box& b, Pos p) {
  return p.z >= b.z0 && p.z < b.z1 && p.y >= b.y0 && p.y < b.y1 && p.x >= b.x0 && p.x < b.x1;
}

CMT_HD float fill_at(const StepParams& P, const Config& cfg, std::uint32_t e) {
  return cfg.fill == Fill::noise ? rng::uniform01(P.stream.word(e)) : cfg.fill_value;
}

// The value transform of one step at its output position p (element e of n in the volume).
CMT_HD float value_of(const StepParams& P, const Config& cfg, Dims dm, Pos p, float v) {
  const std::uint32_t n = static_cast<std::uint32_t>(dm.d) * static_cast<std::uint32_t>(dm.h) * static_cast<std::uint32_t>(dm.w);
  switch (P.t) {
    case Transform::bezier:
      return bezier_map(P, v);
    case Transform::poisson: {
      const float x = v < 0.f ? 0.f : (v > 1.f ? 1.f : v);
      const float y = static_cast<float>(poisson_sample(P.stream, linear(p, dm), n, fmul(x, P.scale))) / P.scale;
      return y > 1.f ? 1.f : y;
    }
    case Transform::inpaint:
      for (int i = 0; i < P.nbox; ++i)
        if (in_box(P.box[i], p)) return fill_at(P, cfg, linear(p, dm));
      return v;
    case Transform::outpaint:
      for (int i = 0; i < P.nbox; ++i)
        if (in_box(P.box[i], p)) return v;
      return fill_at(P, cfg, linear(p, dm));
    default:
      return v;
  }
}

// Output pixel p of one view: `in` is the view's source volume (D, H, W), `params` its table
// (params[step * slices + z]). Returns the augmented value, before any shift.
CMT_HD float eval_pixel(const Config& cfg, const ViewPlan& plan, const StepParams* params, std::int32_t slices, Dims dm,
                        const float* in, Pos p) {
  Pos pos[kMaxSteps + 1];
  const int n = plan.n;
  pos[n] = p;
  for (int s = n - 1; s >= 0; --s) {
    const StepParams& P = params[s * slices + (slices > 1 ? pos[s + 1].z : 0)];
    pos[s] = source_of(P, cfg, dm, pos[s + 1]);
  }
  float v = in[linear(pos[0], dm)];
  for (int s = 0; s < n; ++s) {
    const StepParams& P = params[s * slices + (slices > 1 ? pos[s + 1].z : 0)];
    v = value_of(P, cfg, dm, pos[s + 1], v);
  }
  return v;
}

}  // namespace cmt::aug
