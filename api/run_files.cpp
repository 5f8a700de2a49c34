// Run folder files: RUN/data.json and the model part of RUN/config.json.
#include "api/run_files.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "engine/check.h"

namespace cmt::api {

namespace {

// Median (per axis) of original shape x spacing; empty when every spacing is PNG/JPEG's nominal 1 mm,
// which says nothing of the physical size.
std::vector<double> median_extent_mm(const data::Dataset& ds) {
  const auto spacings = ds.spacings();
  const auto shapes = ds.original_shapes();
  const bool nominal = std::all_of(spacings.begin(), spacings.end(), [](const auto& s) { return s == std::array<double, 3>{1, 1, 1}; });
  if (spacings.empty() || nominal) return {};
  std::vector<double> out(3);
  for (std::size_t a = 0; a < 3; ++a) {
    std::vector<double> e;
    for (std::size_t i = 0; i < spacings.size(); ++i) e.push_back(spacings[i][a] * shapes[i][a]);
    std::nth_element(e.begin(), e.begin() + static_cast<std::ptrdiff_t>(e.size() / 2), e.end());
    out[a] = e[e.size() / 2];
  }
  return out;
}

}  // namespace

nlohmann::json DataInfo::to_json() const {
  nlohmann::json j = {{"class_names", class_names},
                      {"sample_shape", std::vector<std::int64_t>(sample_shape.begin(), sample_shape.end())},
                      {"modality", modality},
                      {"window", window},
                      {"class_weights", class_weights},
                      {"extent_mm", extent_mm}};
  if (dataset) j["dataset"] = dataset->to_json();
  return j;
}

DataInfo DataInfo::from_json(const nlohmann::json& j) {
  DataInfo d;
  d.class_names = j.at("class_names").get<std::vector<std::string>>();
  const auto s = j.at("sample_shape").get<std::vector<std::int64_t>>();
  d.sample_shape = Shape(s.begin(), s.end());
  d.modality = j.at("modality").get<std::string>();
  d.window = j.value("window", std::string("-1000,400"));
  d.class_weights = j.value("class_weights", std::vector<float>{});
  d.extent_mm = j.value("extent_mm", std::vector<double>{});
  if (j.contains("dataset")) d.dataset = data::DatasetIdentity::from_json(j.at("dataset"));
  CMT_CHECK(d.extent_mm.empty() || d.extent_mm.size() == 3, "data.json: 'extent_mm' must be (z, y, x), got " << d.extent_mm.size() << " values");
  CMT_CHECK(d.sample_shape.rank() == 3, "data.json: 'sample_shape' must be (D, H, W), got " << s.size() << " values");
  CMT_CHECK(!d.class_names.empty(), "data.json: no class names");
  return d;
}

DataInfo DataInfo::from_dataset(const data::Dataset& ds, bool balanced, const std::vector<std::int64_t>& train) {
  DataInfo d;
  d.class_names = ds.class_names();
  d.sample_shape = ds.sample_shape();
  d.modality = ds.modality();
  d.window = ds.attribute("window");
  d.extent_mm = median_extent_mm(ds);
  d.dataset = data::identify_dataset(ds.path());
  if (balanced) {
    // n / (classes * count_k), scikit-learn's "balanced", from the training fold.
    const auto labels = ds.labels();
    const std::size_t k = d.class_names.size();
    std::vector<double> count(k, 0);
    for (auto i : train) count[static_cast<std::size_t>(labels[static_cast<std::size_t>(i)])] += 1;
    for (double n : count)
      d.class_weights.push_back(n > 0 ? static_cast<float>(static_cast<double>(train.size()) / (static_cast<double>(k) * n)) : 0.f);
  }
  return d;
}

models::CmtConfig model_config(const nlohmann::json& c, const DataInfo& info) {
  models::CmtConfig m;
  m.backbone.name = c.at("backbone").get<std::string>();
  m.backbone.spatial_dims = info.sample_shape[0] == 1 ? 2 : 3;
  m.backbone.in_channels = 1;
  m.backbone.width = c.at("width").get<double>();
  m.backbone.depth = c.at("depth").get<double>();
  m.latent_dim = c.at("latent_dim").get<std::int64_t>();
  m.num_classes = static_cast<std::int64_t>(info.class_names.size());
  m.lambda = c.at("lambda").get<float>();
  m.tau = c.at("tau").get<float>();
  m.label_smoothing = c.at("label_smoothing").get<float>();
  m.class_weights = info.class_weights;
  m.cls_weight = c.value("cls_weight", 1.f);
  m.cls_both_views = c.value("cls_views", std::string("both")) == "both";
  m.freeze_features = c.value("freeze_features", false);
  m.attention_head = c.value("attention_head", false);  // absent in runs made before the key existed
  return m;
}

data::Preprocess preprocess_of(const DataInfo& info) {
  data::Preprocess pre;
  pre.size = {static_cast<int>(info.sample_shape[0]), static_cast<int>(info.sample_shape[1]), static_cast<int>(info.sample_shape[2])};
  if (const auto comma = info.window.find(','); comma != std::string::npos) {
    pre.window_lo = std::stof(info.window.substr(0, comma));
    pre.window_hi = std::stof(info.window.substr(comma + 1));
  }
  return pre;
}

data::TrainedOn trained_on(const DataInfo& info) {
  data::TrainedOn t;
  t.modality = info.modality;
  t.input_size = preprocess_of(info).size;
  t.has_extent = info.extent_mm.size() == 3;
  if (t.has_extent) std::copy(info.extent_mm.begin(), info.extent_mm.end(), t.extent_mm.begin());
  return t;
}

RunFiles read_run_files(const std::string& run_dir) {
  const std::filesystem::path dir(run_dir);
  std::ifstream cin(dir / "config.json"), din(dir / "data.json");
  CMT_CHECK(cin && din, run_dir << ": no config.json/data.json (not a run folder of `cmt train`)");
  RunFiles r;
  try {
    r.config = nlohmann::json::parse(cin);
    r.info = DataInfo::from_json(nlohmann::json::parse(din));
  } catch (const nlohmann::json::exception& e) {
    CMT_THROW(run_dir << ": unreadable run description: " << e.what());
  }
  return r;
}

}  // namespace cmt::api
