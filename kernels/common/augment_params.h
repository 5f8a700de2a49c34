// Augmentation parameters: the configuration, and the per-view plan and per-step parameters drawn
// from Philox by host+device functions, so the CPU and CUDA backends apply the same draws.
//
// Keys: a view is (seed, epoch, sample, view). Its plan (which transforms, in which order) comes from
// the stream op augment_base + view*64 + 63; step s applying transform t draws its parameters from
// op augment_base + view*64 + s*8 + t, and its per-pixel randomness (noise, shuffle windows) from the
// same op with bit 30 set. Every draw is integer arithmetic or an exact float conversion, so the
// parameters are bit-identical wherever they are computed.
#pragma once
#include <cstdint>

#include "macros.h"
#include "philox.h"

namespace cmt {

// The paper's seven transformations (section 3.2.1): distortion, painting, perspective.
enum class Transform : std::uint32_t { bezier = 0, shuffle, poisson, inpaint, outpaint, rotate, flip };
constexpr int kTransformCount = 7;

namespace aug {

constexpr int kMaxSteps = 8;  // steps of one view's pipeline
constexpr int kMaxBoxes = 5;  // painting windows
constexpr std::uint32_t kAxisW = 1, kAxisH = 2, kAxisD = 4;  // flip axes

enum class Mode : std::uint32_t { none = 0, fixed = 1, random = 2 };
enum class Fill : std::uint32_t { constant = 0, noise = 1 };

// Everything tunable, as a plain struct the kernels receive by value. Defaults follow Models
// Genesis (Zhou et al.) where the paper is silent.
struct Config {
  Mode mode = Mode::random;
  std::int32_t fixed_count = 0;               // Mode::fixed: apply fixed[0..count) in order
  Transform fixed[kMaxSteps] = {};
  // Random pipeline: rotate, flip, shuffle, bezier, poisson, painting (Models Genesis order).
  float rotate_prob = 0.f;
  float flip_prob = 0.4f;                     // per flip attempt, up to flip_max attempts
  std::int32_t flip_max = 3;
  float shuffle_prob = 0.5f;
  float bezier_prob = 0.9f;
  float poisson_prob = 0.f;
  float paint_prob = 0.9f;
  float inpaint_share = 0.2f;                 // in:out = 0.2:0.8
  // Bezier curve.
  float bezier_invert_prob = 0.5f;
  // Local pixel shuffling: cells of side dim/shuffle_div tile the plane; each holds a window with
  // probability shuffle_windows / cells (see docs/augmentation.md).
  std::int32_t shuffle_windows = 100;         // expected windows per image or slice
  std::int32_t shuffle_div = 10;              // window side in [1, dim / shuffle_div]
  std::int32_t shuffle_rounds = 1;            // tilings applied in sequence, each at a random offset
  // Poisson noise: x' = Poisson(x * s) / s, s uniform in [scale_lo, scale_hi].
  float poisson_scale_lo = 30.f, poisson_scale_hi = 300.f;
  // Painting.
  std::int32_t inpaint_boxes = 5;             // up to this many boxes, side in [dim/6, dim/3]
  std::int32_t outpaint_windows = 5;          // one to this many kept windows, side dim - [3/7, 4/7] dim
  float paint_continue_prob = 0.95f;          // probability of each further box or window
  Fill fill = Fill::constant;
  float fill_value = 0.f;
  // Geometry and 3D handling.
  std::uint32_t flip_axes = kAxisH | kAxisW;
  std::uint32_t per_slice = 0;                // 3D: curves and windows drawn per slice (else shared)
  std::uint32_t volumetric = 0;               // 3D: windows are 3D boxes (flip axes may add kAxisD)
  std::uint32_t one_branch = 0;               // view 1 is the identity (SimCLR's protocol for Fig. 4)
};

struct Dims {
  std::int32_t d, h, w;
};

struct Box {
  std::int32_t z0, z1, y0, y1, x0, x1;  // half-open
};

// The parameters of one step of one view (for one slice when drawn per slice).
struct StepParams {
  Transform t;
  rng::Stream stream;       // per-pixel draws (noise fill, Poisson, shuffle cells)
  std::int32_t rot_k;       // rotate: quarter turns counter-clockwise in (H, W)
  std::uint32_t flip_mask;  // flip: kAxis* bits
  float a, b, c, d;         // bezier: inner control points (a, b), (c, d)
  std::int32_t invert;      // bezier: decreasing curve
  float scale;              // poisson: photon scale s
  std::int32_t cell[3];     // shuffle: cell side (z, y, x)
  std::uint32_t cell_threshold;  // shuffle: a cell holds a window when (word >> 8) < threshold
  std::int32_t nbox;        // painting
  Box box[kMaxBoxes];
};

struct ViewPlan {
  std::int32_t n;
  Transform t[kMaxSteps];
};

// Which input row a view reads and how it is keyed.
struct ViewKey {
  std::uint32_t sample;  // sample id (64-bit ids folded to 32 bits)
  std::uint32_t view;
  std::int32_t source;   // input row
};

CMT_HD std::uint32_t fold_sample_id(std::int64_t id) {
  const auto u = static_cast<std::uint64_t>(id);
  return static_cast<std::uint32_t>(u) ^ static_cast<std::uint32_t>(u >> 32);
}

CMT_HD std::uint32_t plan_op(std::uint32_t view) {
  return static_cast<std::uint32_t>(rng::Op::augment_base) + view * 64u + 63u;
}
CMT_HD std::uint32_t step_op(std::uint32_t view, int step, Transform t) {
  return static_cast<std::uint32_t>(rng::Op::augment_base) + view * 64u + static_cast<std::uint32_t>(step) * 8u +
         static_cast<std::uint32_t>(t);
}
constexpr std::uint32_t kPixelStreamBit = 0x40000000u;
// Shuffle round r > 0 draws from the step's pixel stream with r in op bits 24..29; its grid offset is
// block kShuffleOffsetBlock of that stream (cell blocks are 2 * cell and 2 * cell + 1).
constexpr std::uint32_t kShuffleRoundShift = 24;
constexpr std::int32_t kMaxShuffleRounds = 32;
constexpr std::uint32_t kShuffleOffsetBlock = 0xFFFFFFFFu;

// Transforms whose parameters may be drawn per slice; the others are shared by a volume.
CMT_HD bool sliceable(Transform t) {
  return t == Transform::bezier || t == Transform::inpaint || t == Transform::outpaint;
}

// Sequential words of one stream, starting at word `first`.
struct Cursor {
  rng::Stream s;
  std::uint64_t i;
  CMT_HD std::uint32_t next() { return s.word(i++); }
  CMT_HD float uniform() { return rng::uniform01(next()); }
  CMT_HD std::int32_t between(std::int32_t lo, std::int32_t hi) {  // inclusive, hi >= lo
    return lo + static_cast<std::int32_t>(rng::uniform_int(next(), static_cast<std::uint32_t>(hi - lo + 1)));
  }
};

// Exactly rounded float ops (no contraction into FMA on the device), so host and device agree.
CMT_HD float fmul(float x, float y) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(x, y);
#else
  return x * y;
#endif
}
CMT_HD float fadd(float x, float y) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(x, y);
#else
  return x + y;
#endif
}

CMT_HD int popcount3(std::uint32_t m) { return static_cast<int>((m & 1u) + ((m >> 1) & 1u) + ((m >> 2) & 1u)); }

// The k-th (0-based) set bit of mask.
CMT_HD std::uint32_t nth_axis(std::uint32_t mask, int k) {
  for (std::uint32_t bit = 1; bit <= 4; bit <<= 1)
    if (mask & bit) {
      if (k == 0) return bit;
      --k;
    }
  return 0;
}

// The plan of one view: which transforms, in which order.
CMT_HD ViewPlan draw_plan(const Config& cfg, rng::Stream s) {
  ViewPlan p{};
  if (cfg.mode == Mode::fixed) {
    p.n = cfg.fixed_count;
    for (int i = 0; i < cfg.fixed_count && i < kMaxSteps; ++i) p.t[i] = cfg.fixed[i];
    return p;
  }
  if (cfg.mode == Mode::none) return p;
  Cursor c{s, 0};
  auto push = [&p](Transform t) { p.t[p.n++] = t; };
  if (c.uniform() < cfg.rotate_prob) push(Transform::rotate);
  if (cfg.flip_prob > 0.f && cfg.flip_max > 0 && cfg.flip_axes != 0) push(Transform::flip);  // may draw no axis
  if (c.uniform() < cfg.shuffle_prob) push(Transform::shuffle);
  if (c.uniform() < cfg.bezier_prob) push(Transform::bezier);
  if (c.uniform() < cfg.poisson_prob) push(Transform::poisson);
  if (c.uniform() < cfg.paint_prob) push(c.uniform() < cfg.inpaint_share ? Transform::inpaint : Transform::outpaint);
  return p;
}

// Windows of side [lo, hi] placed uniformly inside [0, n).
CMT_HD void draw_span(Cursor& c, std::int32_t n, std::int32_t lo, std::int32_t hi, std::int32_t& a, std::int32_t& b) {
  lo = lo < 1 ? 1 : (lo > n ? n : lo);
  hi = hi < lo ? lo : (hi > n ? n : hi);
  const std::int32_t side = c.between(lo, hi);
  a = c.between(0, n - side);
  b = a + side;
}

// Painting boxes: the first always, each further one with paint_continue_prob. Sides are
// [num_lo/den_lo, num_hi/den_hi] of each dimension; z spans the volume unless volumetric.
CMT_HD void draw_boxes(const Config& cfg, Cursor& c, Dims dm, int max_boxes, std::int32_t lo_num, std::int32_t lo_den,
                       std::int32_t hi_num, std::int32_t hi_den, StepParams& p) {
  p.nbox = 0;
  for (int i = 0; i < max_boxes && i < kMaxBoxes; ++i) {
    if (i > 0 && !(c.uniform() < cfg.paint_continue_prob)) break;
    Box& b = p.box[p.nbox++];
    draw_span(c, dm.h, dm.h * lo_num / lo_den, dm.h * hi_num / hi_den, b.y0, b.y1);
    draw_span(c, dm.w, dm.w * lo_num / lo_den, dm.w * hi_num / hi_den, b.x0, b.x1);
    if (cfg.volumetric && dm.d > 1) {
      draw_span(c, dm.d, dm.d * lo_num / lo_den, dm.d * hi_num / hi_den, b.z0, b.z1);
    } else {
      b.z0 = 0;
      b.z1 = dm.d;
    }
  }
}

// The parameters of step `step` (transform t) of one view, for slice `slice` (0 when shared).
CMT_HD StepParams draw_step(const Config& cfg, Transform t, rng::Stream s, Dims dm, std::uint32_t slice) {
  StepParams p{};
  p.t = t;
  p.stream = s;
  p.stream.op = s.op | kPixelStreamBit;
  Cursor c{s, static_cast<std::uint64_t>(slice) * 64u};
  switch (t) {
    case Transform::rotate:
      p.rot_k = c.between(1, 3);
      break;
    case Transform::flip: {
      const int axes = popcount3(cfg.flip_axes);
      if (axes == 0) break;
      if (cfg.mode == Mode::random) {  // Models Genesis: up to flip_max flips of a random axis
        for (int i = 0; i < cfg.flip_max && c.uniform() < cfg.flip_prob; ++i)
          p.flip_mask ^= nth_axis(cfg.flip_axes, c.between(0, axes - 1));
      } else {  // a chosen flip always flips: a non-empty subset of the allowed axes
        const std::int32_t m = c.between(1, (1 << axes) - 1);
        for (int k = 0; k < axes; ++k)
          if (m & (1 << k)) p.flip_mask |= nth_axis(cfg.flip_axes, k);
      }
      break;
    }
    case Transform::bezier:
      p.a = c.uniform();
      p.b = c.uniform();
      p.c = c.uniform();
      p.d = c.uniform();
      p.invert = c.uniform() < cfg.bezier_invert_prob ? 1 : 0;
      break;
    case Transform::poisson:
      p.scale = fadd(cfg.poisson_scale_lo, fmul(cfg.poisson_scale_hi - cfg.poisson_scale_lo, c.uniform()));
      break;
    case Transform::shuffle: {
      const std::int32_t div = cfg.shuffle_div < 1 ? 1 : cfg.shuffle_div;
      p.cell[0] = (cfg.volumetric && dm.d > 1) ? (dm.d / div < 1 ? 1 : dm.d / div) : 1;
      p.cell[1] = dm.h / div < 1 ? 1 : dm.h / div;
      p.cell[2] = dm.w / div < 1 ? 1 : dm.w / div;
      const double cells = static_cast<double>(dm.h / p.cell[1]) * static_cast<double>(dm.w / p.cell[2]);
      const double prob = cells > 0 ? static_cast<double>(cfg.shuffle_windows) / cells : 0.0;
      p.cell_threshold = static_cast<std::uint32_t>((prob >= 1.0 ? 1.0 : prob) * 16777216.0);
      break;
    }
    case Transform::inpaint:
      draw_boxes(cfg, c, dm, cfg.inpaint_boxes, 1, 6, 1, 3, p);
      break;
    case Transform::outpaint: {
      // Kept window side = dim - removed, removed in [3/7, 4/7] of dim: side in [3/7, 4/7] of dim.
      draw_boxes(cfg, c, dm, cfg.outpaint_windows < 1 ? 1 : cfg.outpaint_windows, 3, 7, 4, 7, p);
      break;
    }
  }
  return p;
}

// Number of per-step parameter slices: the depth when windows and curves are drawn per slice.
CMT_HD std::int32_t param_slices(const Config& cfg, Dims dm) {
  return (cfg.per_slice && !cfg.volumetric && dm.d > 1) ? dm.d : 1;
}

// Plan and parameters of one view: plan, then params[(step * slices) + z] for every step and slice.
CMT_HD void draw_view(const Config& cfg, std::uint64_t seed, std::uint32_t epoch, ViewKey key, Dims dm, ViewPlan& plan,
                      StepParams* params) {
  const bool identity = cfg.one_branch && key.view == 1;  // SimCLR: t(x) = x on the other branch
  plan = identity ? ViewPlan{} : draw_plan(cfg, rng::Stream::make(seed, epoch, key.sample, plan_op(key.view)));
  const std::int32_t slices = param_slices(cfg, dm);
  for (int s = 0; s < plan.n; ++s) {
    const rng::Stream st = rng::Stream::make(seed, epoch, key.sample, step_op(key.view, s, plan.t[s]));
    for (std::int32_t z = 0; z < slices; ++z)
      params[s * slices + z] =
          (z == 0 || sliceable(plan.t[s])) ? draw_step(cfg, plan.t[s], st, dm, static_cast<std::uint32_t>(z)) : params[s * slices];
  }
}

}  // namespace aug
}  // namespace cmt
