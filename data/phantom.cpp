// The phantom generator: analytic chest anatomy evaluated per voxel (CT) or integrated along rays (X-ray).
#include "data/phantom.h"

#include <algorithm>
#include <cmath>

#include "kernels/common/check.h"
#include "kernels/common/philox.h"

namespace cmt::data {

namespace {

constexpr std::uint32_t kOpAnatomy = 0x2001, kOpLesions = 0x2002, kOpNoise = 0x2003;

// Random numbers of one patient: draw k of the stream is a pure function of (seed, patient, op, k).
struct Draws {
  rng::Stream s;
  std::uint32_t k = 0;
  float uniform(float lo, float hi) { return lo + (hi - lo) * rng::uniform01(s.word(k++)); }
};

struct Blob {  // an ellipsoidal opacity with a soft edge
  float cx, cy, cz, rx, ry, rz, hu, strength;
  bool finding = true;  // a lesion of the class; false: a distractor nodule every class has
};
struct Segment {  // a vessel: a capsule from a to b
  float ax, ay, az, bx, by, bz, r;
};

// One patient's anatomy in normalised coordinates: x left-right, y anterior(-)-posterior(+), z
// feet(-)-head(+), each in [-1, 1] across the field of view.
struct Anatomy {
  float body_rx, body_ry, lung_rx, lung_ry, lung_rz, lung_dx, lung_cy;
  float heart_cx, heart_cy, heart_cz, heart_r;
  float rib_phase, rib_freq;
  std::vector<Segment> vessels;
  std::vector<Blob> lesions;  // applied inside the lungs only
};

float sq(float v) { return v * v; }

// Which lung (0 left, 1 right) a point is in, or -1.
int lung_of(const Anatomy& a, float x, float y, float z) {
  for (int side = 0; side < 2; ++side) {
    const float cx = side == 0 ? -a.lung_dx : a.lung_dx;
    // Lungs narrow towards the apex (z = +1).
    const float taper = 1.f - 0.35f * std::max(0.f, z);
    if (sq((x - cx) / (a.lung_rx * taper)) + sq((y - a.lung_cy) / a.lung_ry) + sq(z / a.lung_rz) < 1.f) return side;
  }
  return -1;
}

bool in_heart(const Anatomy& a, float x, float y, float z) {
  return sq((x - a.heart_cx) / a.heart_r) + sq((y - a.heart_cy) / (0.85f * a.heart_r)) +
             sq((z - a.heart_cz) / (1.3f * a.heart_r)) <
         1.f;
}

float blob_q(const Blob& b, float x, float y, float z) {
  return sq((x - b.cx) / b.rx) + sq((y - b.cy) / b.ry) + sq((z - b.cz) / b.rz);
}

// HU at a point; `finding`, when given, says whether a lesion of the class changed it there (the
// lesion masks are this, so they cover exactly where the phantom's intensity was changed).
float hu_at(const Anatomy& a, float x, float y, float z, bool* finding = nullptr) {
  if (sq(x / a.body_rx) + sq(y / a.body_ry) >= 1.f || std::fabs(z) > 1.f) return -1000.f;
  const float ring = std::sqrt(sq(x / a.body_rx) + sq(y / a.body_ry));
  float hu = ring > 0.93f ? -100.f : 40.f;  // subcutaneous fat, then soft tissue
  // Spine: a vertebral body behind the heart.
  if (sq(x / 0.11f) + sq((y - 0.5f * a.body_ry) / 0.1f) < 1.f) return 700.f;
  // Ribs: a band inside the body wall, present periodically along z.
  if (ring > 0.8f && ring < 0.88f && std::sin(a.rib_freq * z + a.rib_phase) > 0.35f) return 650.f;
  const int side = lung_of(a, x, y, z);
  if (side >= 0) {
    hu = -850.f;
    if (in_heart(a, x, y, z)) return 40.f;
    for (const Segment& s : a.vessels) {
      const float vx = s.bx - s.ax, vy = s.by - s.ay, vz = s.bz - s.az;
      const float t = std::clamp(((x - s.ax) * vx + (y - s.ay) * vy + (z - s.az) * vz) / (vx * vx + vy * vy + vz * vz), 0.f, 1.f);
      if (sq(x - s.ax - t * vx) + sq(y - s.ay - t * vy) + sq(z - s.az - t * vz) < s.r * s.r) {
        hu = 40.f;
        break;
      }
    }
    for (const Blob& b : a.lesions) {
      const float q = blob_q(b, x, y, z);
      if (q >= 1.f) continue;
      hu += (b.hu - hu) * b.strength * (1.f - q * q);  // soft edge
      if (finding && b.finding) *finding = true;
    }
  } else if (in_heart(a, x, y, z)) {
    hu = 40.f;
  }
  return hu;
}

// A peripheral point of a lung: near its lateral/posterior surface.
void peripheral_point(const Anatomy& a, Draws& r, int side, float& x, float& y, float& z) {
  const float angle = r.uniform(-1.6f, 1.6f);  // around the lateral side, posterior-weighted
  const float cx = side == 0 ? -a.lung_dx : a.lung_dx;
  const float dir = side == 0 ? -1.f : 1.f;
  z = r.uniform(-0.6f, 0.5f) * a.lung_rz;
  const float taper = 1.f - 0.35f * std::max(0.f, z);
  x = cx + dir * 0.7f * a.lung_rx * taper * std::cos(angle);
  y = a.lung_cy + 0.7f * a.lung_ry * std::sin(angle);
}

Anatomy make_anatomy(const PhantomOptions& opt, std::int64_t index, int label) {
  CMT_CHECK(label >= 0 && label < 3, "phantom " << index << ": label must be 0, 1 or 2, got " << label);
  Draws r{rng::Stream::make(opt.seed, 0, static_cast<std::uint32_t>(index), kOpAnatomy)};
  Anatomy a;
  a.body_rx = r.uniform(0.82f, 0.92f);
  a.body_ry = r.uniform(0.58f, 0.68f);
  a.lung_rx = r.uniform(0.27f, 0.32f);
  a.lung_ry = r.uniform(0.36f, 0.42f);
  a.lung_rz = r.uniform(0.8f, 0.92f);
  a.lung_dx = r.uniform(0.36f, 0.42f);
  a.lung_cy = r.uniform(-0.04f, 0.04f);
  a.heart_cx = r.uniform(0.02f, 0.12f);
  a.heart_cy = r.uniform(-0.2f, -0.1f);
  a.heart_cz = r.uniform(-0.45f, -0.25f);
  a.heart_r = r.uniform(0.2f, 0.26f);
  a.rib_phase = r.uniform(0.f, 6.28f);
  a.rib_freq = r.uniform(9.f, 11.f);
  for (int side = 0; side < 2; ++side) {  // vessels fan out from each hilum
    const float hx = side == 0 ? -0.15f : 0.15f, dir = side == 0 ? -1.f : 1.f;
    for (int v = 0; v < 6; ++v) {
      const float ex = hx + dir * r.uniform(0.1f, 0.45f), ey = r.uniform(-0.3f, 0.3f), ez = r.uniform(-0.6f, 0.6f);
      a.vessels.push_back({hx, 0.f, 0.f, ex, ey, ez, r.uniform(0.015f, 0.03f)});
    }
  }
  // Lesions: contrast and size fall with difficulty.
  Draws l{rng::Stream::make(opt.seed, 0, static_cast<std::uint32_t>(index), kOpLesions)};
  const float strength = static_cast<float>(1.0 - 0.7 * opt.difficulty);
  const float size = static_cast<float>(1.0 - 0.5 * opt.difficulty);
  if (label == 1) {  // COVID-19-like: several bilateral peripheral ground-glass opacities
    const int n = 3 + static_cast<int>(l.uniform(0.f, 4.f));
    for (int i = 0; i < n; ++i) {
      const int side = i % 2;  // both lungs always
      float x, y, z;
      peripheral_point(a, l, side, x, y, z);
      const float rad = size * l.uniform(0.09f, 0.16f);
      a.lesions.push_back({x, y, z, rad, rad * l.uniform(0.8f, 1.2f), rad * l.uniform(1.f, 1.6f), l.uniform(-550.f, -450.f),
                           strength * l.uniform(0.75f, 1.f)});
    }
  } else if (label == 2) {  // other pneumonia: unilateral lobar consolidation (a lower or upper lobe)
    const int side = l.uniform(0.f, 1.f) < 0.5f ? 0 : 1;
    const float cx = side == 0 ? -a.lung_dx : a.lung_dx;
    const float lower = l.uniform(0.f, 1.f) < 0.65f ? -1.f : 1.f;
    const float cz = lower * a.lung_rz * l.uniform(0.35f, 0.5f);
    a.lesions.push_back({cx + l.uniform(-0.05f, 0.05f), a.lung_cy + l.uniform(0.f, 0.1f), cz, a.lung_rx * size * 1.1f,
                         a.lung_ry * size * 1.1f, a.lung_rz * size * 0.55f, l.uniform(0.f, 40.f), strength});
  }
  // Distractors in every class at higher difficulty: small dense nodules anywhere in the lungs.
  const int nodules = static_cast<int>(opt.difficulty * 4.0);
  for (int i = 0; i < nodules; ++i) {
    float x, y, z;
    peripheral_point(a, l, i % 2, x, y, z);
    a.lesions.push_back({x * 0.8f, y, z, 0.04f, 0.04f, 0.04f, 20.f, 0.9f, false});
  }
  return a;
}

// Normalised coordinate of voxel i of n along an axis of the CT grid.
float ct_coord(int i, int n) { return 2.f * (i + 0.5f) / n - 1.f; }

// The radiograph's geometry: pixel (r, c) is the ray at (x, z) = xray_ray(...); `steps` samples along y.
struct XrayRay {
  float x, z;
};
XrayRay xray_ray(int r, int c, int h, int w) {
  return {1.9f * (c + 0.5f) / w - 0.95f, 0.95f - 1.9f * (r + 0.5f) / h};
}  // a little margin
int xray_steps(int h) { return std::clamp(h, 32, 128); }  // samples along each ray (anterior-posterior)

Volume empty_like_ct(const PhantomOptions& opt) {
  Volume v;
  v.d = opt.ct_size[0];
  v.h = opt.ct_size[1];
  v.w = opt.ct_size[2];
  CMT_CHECK(v.d > 0 && v.h > 0 && v.w > 0, "make_ct_phantom: bad size");
  v.spacing = {300.0 / v.d, 300.0 / v.h, 300.0 / v.w};
  v.v.resize(static_cast<std::size_t>(v.numel()));
  return v;
}

Volume empty_like_xray(const PhantomOptions& opt) {
  Volume v;
  v.d = 1;
  v.h = opt.xray_size[0];
  v.w = opt.xray_size[1];
  CMT_CHECK(v.h > 0 && v.w > 0, "make_xray_phantom: bad size");
  v.spacing = {1.0, 400.0 / v.h, 400.0 / v.w};
  v.v.resize(static_cast<std::size_t>(v.numel()));
  return v;
}

}  // namespace

const std::vector<std::string>& phantom_class_names() {
  static const std::vector<std::string> names{"normal", "covid19", "pneumonia"};
  return names;
}

int phantom_label(std::int64_t index, int num_classes) { return static_cast<int>(index % num_classes); }

Volume make_ct_phantom(const PhantomOptions& opt, std::int64_t index, int label) {
  const Anatomy a = make_anatomy(opt, index, label);
  Volume v = empty_like_ct(opt);
  const rng::Stream noise = rng::Stream::make(opt.seed, 0, static_cast<std::uint32_t>(index), kOpNoise);
  // Noise of a low-dose scan: photon statistics give roughly Gaussian HU noise, stronger in dense tissue.
  const float sigma = static_cast<float>(15.0 + 60.0 * opt.difficulty);
#pragma omp parallel for schedule(static)
  for (int z = 0; z < v.d; ++z)
    for (int y = 0; y < v.h; ++y)
      for (int x = 0; x < v.w; ++x) {
        // Slice 0 at the feet: ascending patient z.
        float hu = hu_at(a, ct_coord(x, v.w), ct_coord(y, v.h), ct_coord(z, v.d));
        const std::uint64_t i = (static_cast<std::uint64_t>(z) * v.h + y) * v.w + x;
        if (hu > -1000.f) {
          float n0, n1;
          rng::normal2(noise.word(2 * i), noise.word(2 * i + 1), n0, n1);
          hu += sigma * std::sqrt(std::max(0.2f, 1.f + hu / 1000.f)) * n0;
        }
        v.at(z, y, x) = std::clamp(hu, -1024.f, 3071.f);
      }
  return v;
}

Volume make_xray_phantom(const PhantomOptions& opt, std::int64_t index, int label) {
  const Anatomy a = make_anatomy(opt, index, label);
  Volume v = empty_like_xray(opt);
  const int steps = xray_steps(v.h);
  const float dy_cm = 30.f / static_cast<float>(steps);
  const float mu_water = 0.2f;                      // 1/cm at ~70 keV
  const double photons = 2000.0 * std::pow(10.0, 1.5 * (1.0 - opt.difficulty));  // fewer photons = more noise
  const rng::Stream noise = rng::Stream::make(opt.seed, 1, static_cast<std::uint32_t>(index), kOpNoise);
  const float scale = 1.f / 7.f;  // line integrals of a chest span roughly 0..7
#pragma omp parallel for schedule(static)
  for (int r = 0; r < v.h; ++r)
    for (int c = 0; c < v.w; ++c) {
      const XrayRay ray = xray_ray(r, c, v.h, v.w);
      float line = 0.f;
      for (int s = 0; s < steps; ++s) {
        const float hu = hu_at(a, ray.x, ct_coord(s, steps), ray.z);
        line += std::max(0.f, mu_water * (1.f + hu / 1000.f)) * dy_cm;
      }
      // Poisson counts (Gaussian approximation, exact enough above ~20 photons), then -log.
      const double expected = photons * std::exp(-static_cast<double>(line));
      float n0, n1;
      const std::uint64_t i = static_cast<std::uint64_t>(r) * v.w + c;
      rng::normal2(noise.word(2 * i), noise.word(2 * i + 1), n0, n1);
      const double counts = std::max(0.5, expected + std::sqrt(expected) * n0);
      const float measured = static_cast<float>(-std::log(counts / photons));
      v.at(0, r, c) = std::clamp(measured * scale, 0.f, 1.f);
    }
  return v;
}

Volume make_ct_lesion_mask(const PhantomOptions& opt, std::int64_t index, int label) {
  const Anatomy a = make_anatomy(opt, index, label);
  Volume m = empty_like_ct(opt);
#pragma omp parallel for schedule(static)
  for (int z = 0; z < m.d; ++z)
    for (int y = 0; y < m.h; ++y)
      for (int x = 0; x < m.w; ++x) {
        bool finding = false;
        hu_at(a, ct_coord(x, m.w), ct_coord(y, m.h), ct_coord(z, m.d), &finding);
        m.at(z, y, x) = finding ? 1.f : 0.f;
      }
  return m;
}

Volume make_xray_lesion_mask(const PhantomOptions& opt, std::int64_t index, int label) {
  const Anatomy a = make_anatomy(opt, index, label);
  Volume m = empty_like_xray(opt);
  const int steps = xray_steps(m.h);
#pragma omp parallel for schedule(static)
  for (int r = 0; r < m.h; ++r)
    for (int c = 0; c < m.w; ++c) {
      const XrayRay ray = xray_ray(r, c, m.h, m.w);
      bool finding = false;
      for (int s = 0; s < steps && !finding; ++s) hu_at(a, ray.x, ct_coord(s, steps), ray.z, &finding);
      m.at(0, r, c) = finding ? 1.f : 0.f;
    }
  return m;
}

}  // namespace cmt::data
