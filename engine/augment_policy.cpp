// AugmentPolicy: parsing, validation and description of augmentation specs.
#include "engine/augment_policy.h"

#include <cmath>
#include <sstream>
#include <variant>
#include <vector>

#include "kernels/common/check.h"

namespace cmt {

namespace {

constexpr std::array<std::string_view, kTransformCount> kNames = {"bezier", "shuffle", "poisson", "inpaint",
                                                                  "outpaint", "rotate", "flip"};

using Field = std::variant<float aug::Config::*, std::int32_t aug::Config::*, std::uint32_t aug::Config::*>;
struct Entry {
  std::string_view key;
  Field field;
};

// Every numeric tunable, in the order describe() prints them.
const std::vector<Entry>& fields() {
  using C = aug::Config;
  static const std::vector<Entry> table = {
      {"rotate_prob", &C::rotate_prob},
      {"flip_prob", &C::flip_prob},
      {"flip_max", &C::flip_max},
      {"shuffle_prob", &C::shuffle_prob},
      {"bezier_prob", &C::bezier_prob},
      {"poisson_prob", &C::poisson_prob},
      {"paint_prob", &C::paint_prob},
      {"inpaint_share", &C::inpaint_share},
      {"bezier_invert_prob", &C::bezier_invert_prob},
      {"shuffle_windows", &C::shuffle_windows},
      {"shuffle_div", &C::shuffle_div},
      {"shuffle_rounds", &C::shuffle_rounds},
      {"poisson_scale_lo", &C::poisson_scale_lo},
      {"poisson_scale_hi", &C::poisson_scale_hi},
      {"inpaint_boxes", &C::inpaint_boxes},
      {"outpaint_windows", &C::outpaint_windows},
      {"paint_continue_prob", &C::paint_continue_prob},
      {"fill_value", &C::fill_value},
      {"per_slice", &C::per_slice},
      {"volumetric", &C::volumetric},
      {"one_branch", &C::one_branch},
  };
  return table;
}

std::string axes_text(std::uint32_t m) {
  std::string s;
  if (m & aug::kAxisD) s += 'd';
  if (m & aug::kAxisH) s += 'h';
  if (m & aug::kAxisW) s += 'w';
  return s.empty() ? "none" : s;
}

double number(const std::string& key, const std::string& value) {
  try {
    std::size_t used = 0;
    const double v = std::stod(value, &used);
    if (used == value.size() && std::isfinite(v)) return v;
  } catch (const std::exception&) {
  }
  CMT_THROW("augment policy: '" << key << "' needs a number, got '" << value << "'");
}

void set_field(aug::Config& c, const Entry& e, const std::string& value) {
  const double v = number(std::string(e.key), value);
  std::visit(
      [&](auto member) {
        using T = std::remove_reference_t<decltype(c.*member)>;
        if constexpr (!std::is_same_v<T, float>)
          CMT_CHECK(v == std::floor(v) && v >= 0 && v < 1e9, "augment policy: '" << e.key << "' needs a whole number >= 0, got " << value);
        c.*member = static_cast<T>(v);
      },
      e.field);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream is(s);
  while (std::getline(is, cur, sep)) out.push_back(cur);
  if (!s.empty() && s.back() == sep) out.emplace_back();
  return out;
}

}  // namespace

// The paper's seven transformations (section 3.2.1): Models Genesis' pipeline plus rotation and
// Poisson noise, whose probabilities the paper does not give (docs/augmentation.md, assumptions).
aug::Config paper_config() {
  aug::Config c;
  c.mode = aug::Mode::random;
  c.rotate_prob = 0.5f;
  c.poisson_prob = 0.5f;
  c.shuffle_rounds = 6;  // Models Genesis' coverage: about 85% of pixels shuffled (docs/augmentation.md)
  return c;
}

std::string_view transform_name(Transform t) { return kNames[static_cast<std::size_t>(t)]; }

Transform transform_from_name(std::string_view name) {
  for (std::size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == name) return static_cast<Transform>(i);
  CMT_THROW("augment policy: unknown transformation '" << name
                                                      << "' (bezier, shuffle, poisson, inpaint, outpaint, rotate, flip)");
}

AugmentPolicy AugmentPolicy::parse(const std::string& spec) {
  AugmentPolicy p;
  aug::Config& c = p.config;
  const auto parts = split(spec.empty() ? std::string("genesis") : spec, ',');
  const std::string& name = parts.front();
  if (name == "genesis" || name.empty()) {
    c.mode = aug::Mode::random;
  } else if (name == "paper") {
    c = paper_config();
  } else if (name == "none") {
    c.mode = aug::Mode::none;
  } else {
    c.mode = aug::Mode::fixed;
    for (const auto& t : split(name, '+')) {
      CMT_CHECK(c.fixed_count < aug::kMaxSteps, "augment policy: more than " << aug::kMaxSteps << " transformations in '" << name << "'");
      c.fixed[c.fixed_count++] = transform_from_name(t);
    }
  }
  bool axes_given = false;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const auto eq = parts[i].find('=');
    CMT_CHECK(eq != std::string::npos, "augment policy: expected KEY=VALUE, got '" << parts[i] << "' in '" << spec << "'");
    const std::string key = parts[i].substr(0, eq), value = parts[i].substr(eq + 1);
    if (key == "fill") {
      CMT_CHECK(value == "constant" || value == "noise", "augment policy: fill is 'constant' or 'noise', got '" << value << "'");
      c.fill = value == "noise" ? aug::Fill::noise : aug::Fill::constant;
    } else if (key == "flip_axes") {
      c.flip_axes = 0;
      for (char ch : value) {
        CMT_CHECK(ch == 'd' || ch == 'h' || ch == 'w' || value == "none",
                  "augment policy: flip_axes is a set of d, h, w (e.g. 'hw'), got '" << value << "'");
        c.flip_axes |= ch == 'd' ? aug::kAxisD : ch == 'h' ? aug::kAxisH : ch == 'w' ? aug::kAxisW : 0u;
      }
      axes_given = true;
    } else {
      const Entry* found = nullptr;
      for (const Entry& e : fields())
        if (e.key == key) found = &e;
      CMT_CHECK(found != nullptr, "augment policy: unknown key '" << key << "' in '" << spec << "'");
      set_field(c, *found, value);
    }
  }
  if (c.volumetric && !axes_given) c.flip_axes |= aug::kAxisD;  // volumetric mode flips in 3D
  p.validate();
  return p;
}

void AugmentPolicy::validate() const {
  const aug::Config& c = config;
  for (const Entry& e : fields())
    if (e.key.ends_with("_prob") || e.key == "inpaint_share" || e.key == "fill_value") {
      const float v = c.*std::get<float aug::Config::*>(e.field);
      CMT_CHECK(v >= 0.f && v <= 1.f, "augment policy: '" << e.key << "' must be in [0, 1], got " << v);
    }
  CMT_CHECK(c.flip_max <= 16, "augment policy: flip_max must be <= 16, got " << c.flip_max);
  CMT_CHECK(c.shuffle_div >= 1, "augment policy: shuffle_div must be >= 1, got " << c.shuffle_div);
  CMT_CHECK(c.shuffle_rounds >= 1 && c.shuffle_rounds <= aug::kMaxShuffleRounds,
            "augment policy: shuffle_rounds must be in [1, " << aug::kMaxShuffleRounds << "], got " << c.shuffle_rounds);
  CMT_CHECK(c.poisson_scale_lo > 0.f && c.poisson_scale_hi >= c.poisson_scale_lo && c.poisson_scale_hi <= 1e6f,
            "augment policy: need 0 < poisson_scale_lo <= poisson_scale_hi <= 1e6, got " << c.poisson_scale_lo << ", "
                                                                                        << c.poisson_scale_hi);
  CMT_CHECK(c.inpaint_boxes >= 1 && c.inpaint_boxes <= aug::kMaxBoxes,
            "augment policy: inpaint_boxes must be in [1, " << aug::kMaxBoxes << "], got " << c.inpaint_boxes);
  CMT_CHECK(c.outpaint_windows >= 1 && c.outpaint_windows <= aug::kMaxBoxes,
            "augment policy: outpaint_windows must be in [1, " << aug::kMaxBoxes << "], got " << c.outpaint_windows);
  CMT_CHECK(c.per_slice <= 1 && c.volumetric <= 1 && c.one_branch <= 1,
            "augment policy: per_slice, volumetric and one_branch are 0 or 1");
  CMT_CHECK(!(c.per_slice && c.volumetric), "augment policy: per_slice and volumetric exclude each other");
  CMT_CHECK(c.fixed_count >= 0 && c.fixed_count <= aug::kMaxSteps, "augment policy: bad number of fixed transformations");
  for (int i = 0; i < c.fixed_count; ++i)
    CMT_CHECK(c.fixed[i] != Transform::flip || c.flip_axes != 0, "augment policy: flip needs at least one axis in flip_axes");
}

bool AugmentPolicy::may_rotate() const {
  if (config.mode == aug::Mode::random) return config.rotate_prob > 0.f;
  for (int i = 0; i < config.fixed_count; ++i)
    if (config.fixed[i] == Transform::rotate) return true;
  return false;
}

std::string AugmentPolicy::describe() const {
  std::ostringstream os;
  const aug::Config& c = config;
  if (c.mode == aug::Mode::random) os << "genesis";
  if (c.mode == aug::Mode::none) os << "none";
  for (int i = 0; c.mode == aug::Mode::fixed && i < c.fixed_count; ++i) os << (i ? "+" : "") << transform_name(c.fixed[i]);
  for (const Entry& e : fields())
    std::visit([&](auto member) { os << ',' << e.key << '=' << +(c.*member); }, e.field);
  os << ",fill=" << (c.fill == aug::Fill::noise ? "noise" : "constant") << ",flip_axes=" << axes_text(c.flip_axes);
  return os.str();
}

}  // namespace cmt
