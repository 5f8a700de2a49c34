// The public inference API (include/cmt/inference.h) on a tiny 2D run made here: concurrent
// requests give the sequential results exactly, and bad checkpoints are refused with clear errors.
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "api/run_files.h"
#include "cmt/inference.h"
#include "data/png_write.h"
#include "engine/checkpoint.h"
#include "engine/parameters.h"
#include "support/testing.h"

namespace cmt {

namespace {

namespace fs = std::filesystem;

// A run folder as `cmt train` writes it: config.json, data.json and last.h5 of a tiny 2D ResNet.
fs::path make_run(const std::string& name, std::int64_t latent_dim) {
  const fs::path dir = fs::temp_directory_path() / ("cmt-test-api-" + name + "-" + std::to_string(test::run_seed()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const nlohmann::json config = {{"backbone", "resnet50"}, {"width", 0.125}, {"depth", 0.34},  {"latent_dim", latent_dim},
                                 {"lambda", 0.25},         {"tau", 0.1},     {"label_smoothing", 0.0},
                                 {"precision", "fp32"},    {"conv_backend", "native"}};
  api::DataInfo info;
  info.class_names = {"normal", "covid19", "pneumonia"};
  info.sample_shape = Shape{1, 16, 16};
  info.modality = "xray";
  info.window = "-1000,400";
  std::ofstream(dir / "config.json") << config.dump(2);
  std::ofstream(dir / "data.json") << info.to_json().dump(2);
  Context ctx(Device::cpu());
  models::CmtModel model(api::model_config(config, info));
  ParameterStore store(ctx, model.root());
  store.initialize(ctx, test::run_seed());
  CheckpointState state;
  state.model = model.describe();
  state.config = config;
  save_checkpoint((dir / "last.h5").string(), store, nullptr, state);
  return dir;
}

// Random greyscale PNGs (never flat: min-max scaling needs a range).
std::vector<std::string> make_images(const fs::path& dir, int count, std::mt19937_64& gen) {
  std::vector<std::string> paths;
  std::uniform_int_distribution<int> px(0, 255);
  for (int i = 0; i < count; ++i) {
    std::vector<std::uint8_t> pixels(24 * 20);
    for (auto& p : pixels) p = static_cast<std::uint8_t>(px(gen));
    pixels[0] = 0;
    pixels[1] = 255;
    paths.push_back((dir / ("image" + std::to_string(i) + ".png")).string());
    data::write_png(paths.back(), 24, 20, 1, pixels);
  }
  return paths;
}

std::string load_error(const fs::path& run, const std::string& checkpoint) {
  try {
    InferenceModel::load(run.string(), {checkpoint, "cpu"});
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("api: concurrent predictions equal sequential ones, probabilities sum to 1, latent has latent_dim values") {
  std::mt19937_64 gen(test::run_seed());
  const fs::path run = make_run("ok", 8);
  const auto images = make_images(run, 6, gen);
  const InferenceModel model = InferenceModel::load(run.string());
  CHECK(model.class_names() == std::vector<std::string>{"normal", "covid19", "pneumonia"});
  CHECK(model.modality() == "xray");
  CHECK(model.input_size() == std::array<int, 3>{1, 16, 16});
  CHECK(model.latent_dim() == 8);
  CHECK(model.device() == "cpu");

  std::vector<Prediction> sequential;
  for (const auto& path : images) sequential.push_back(model.predict(path));
  std::vector<Prediction> concurrent(images.size() * 2);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (std::size_t i = t; i < concurrent.size(); i += 4) concurrent[i] = model.predict(images[i % images.size()]);
    });
  for (auto& th : threads) th.join();

  for (std::size_t i = 0; i < concurrent.size(); ++i) {
    const Prediction& want = sequential[i % images.size()];
    const Prediction& got = concurrent[i];
    REQUIRE(want.probabilities.size() == 3);
    CHECK(got.probabilities == want.probabilities);  // bit-exact: the same computation, serialized
    CHECK(got.latent == want.latent);
    CHECK(got.source == images[i % images.size()]);
    CHECK(want.latent.size() == 8);
    double sum = 0;
    for (float p : want.probabilities) {
      CHECK(p > 0.f);
      sum += p;
    }
    CHECK(sum == doctest::Approx(1.0).epsilon(1e-5));
    const auto best = std::max_element(want.probabilities.begin(), want.probabilities.end()) - want.probabilities.begin();
    CHECK(want.predicted == best);
    CHECK(want.predicted_class == model.class_names()[static_cast<std::size_t>(best)]);
  }
  // Different images give different latent vectors (the model really reads its input).
  CHECK(sequential[0].latent != sequential[1].latent);
  fs::remove_all(run);
}

TEST_CASE("api: refuses another model's checkpoint, corrupt ones and bad inputs with cmt::Error naming the problem") {
  std::mt19937_64 gen(test::run_seed() + 1);
  const fs::path run = make_run("bad", 8);
  const fs::path other = make_run("other", 12);
  CHECK(load_error(run, (other / "last.h5").string()).find("holds CMT-CNN(resnet50, 2D, width 0.125, latent 12") != std::string::npos);
  std::ofstream(run / "garbage.h5") << "not a checkpoint";
  CHECK(load_error(run, (run / "garbage.h5").string()).find("not an HDF5 file") != std::string::npos);
  {  // the first 2 KiB of a real checkpoint
    std::ifstream in(run / "last.h5", std::ios::binary);
    std::vector<char> head(2048);
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    std::ofstream(run / "cut.h5", std::ios::binary).write(head.data(), in.gcount());
  }
  const std::string cut = load_error(run, (run / "cut.h5").string());
  CHECK(cut.find("cut.h5") != std::string::npos);
  CHECK(cut.find("corrupt or truncated") != std::string::npos);
  CHECK(load_error(run, "best").find("no such file") != std::string::npos);
  CHECK(load_error(run / "nothing-here", "last").find("not a run folder") != std::string::npos);

  const InferenceModel model = InferenceModel::load(run.string());
  CHECK_THROWS_WITH_AS(model.predict((run / "missing.png").string()), doctest::Contains("no such file"), Error);
  // Folders follow the rules of `cmt predict` (studies()): for an X-ray model every image is a study,
  // in the folder and below it; predict(folder) takes a folder of one study and names the studies of another.
  CHECK_THROWS_WITH_AS(model.predict(run.string()), doctest::Contains("studies"), Error);
  {
    const fs::path images = run / "images";
    fs::create_directories(images / "second-visit");
    make_images(images, 2, gen);
    const std::string nested = make_images(images / "second-visit", 1, gen)[0];
    const std::vector<Study> found = model.studies(images.string());
    REQUIRE(found.size() == 3);
    for (const Study& s : found) CHECK((s.error.empty() && s.files.size() == 1));
    CHECK(found.back().source == nested);
    CHECK(model.predict((images / "second-visit").string()).source == nested);
    CHECK_THROWS_WITH_AS(model.predict(images.string()), doctest::Contains("holds 3 studies"), Error);
    const std::vector<Study> missing = model.studies((run / "no-such-folder").string());
    CHECK((missing.size() == 1 && missing[0].error == "no such file or folder"));
  }
  CHECK_THROWS_WITH_AS(model.predict((run / "garbage.h5").string()), doctest::Contains("garbage.h5"), Error);
  // A failed request leaves the model usable.
  CHECK(model.predict(make_images(run, 1, gen)[0]).probabilities.size() == 3);
  fs::remove_all(run);
  fs::remove_all(other);
}

TEST_CASE("api: explain_files predicts as predict does and maps the input's size; explain_image of its image agrees") {
  std::mt19937_64 gen(test::run_seed() + 5);
  const fs::path run = make_run("explain", 8);
  const auto images = make_images(run, 1, gen);
  const InferenceModel model = InferenceModel::load(run.string());
  const Prediction p = model.predict(images[0]);
  for (const char* method : {"gradcam", "gradcampp"}) {
    CAPTURE(method);
    const Explanation e = model.explain_files({images[0]}, "", {method, 2});
    REQUIRE(e.prediction.probabilities.size() == p.probabilities.size());
    for (std::size_t k = 0; k < p.probabilities.size(); ++k)
      CHECK(e.prediction.probabilities[k] == doctest::Approx(p.probabilities[k]).epsilon(1e-6));
    CHECK(e.prediction.predicted == p.predicted);
    CHECK(e.prediction.latent.size() == 8);
    CHECK(e.target_class == 2);
    CHECK(e.target_class_name == "pneumonia");
    CHECK(e.size == std::array<int, 3>{1, 16, 16});
    CHECK(e.image.size() == 256);
    REQUIRE(e.map.size() == 256);
    for (float v : e.map) CHECK((v >= 0.f && v <= 1.f));
    CHECK(e.cam.size() == static_cast<std::size_t>(e.feature_size[0] * e.feature_size[1] * e.feature_size[2]));
    const Explanation again = model.explain_image(e.image, "again", {method, 2});
    CHECK(again.map == e.map);
    CHECK(again.cam == e.cam);
    CHECK(again.score == e.score);
  }
  const Explanation predicted = model.explain_files({images[0]});
  CHECK(predicted.target_class == p.predicted);
  CHECK_THROWS_WITH_AS(model.explain_files({images[0]}, "", {"gradcam", 3}),
                       doctest::Contains("class 3 of a model with 3 classes"), Error);
  CHECK_THROWS_WITH_AS(model.explain_files({images[0]}, "", {"saliency", -1}),
                       doctest::Contains("unknown attention map method 'saliency'"), Error);
  CHECK_THROWS_WITH_AS(model.explain_image(std::vector<float>(10, 0.5f), "short"),
                       doctest::Contains("short: 10 values, but the model takes 1x16x16"), Error);
  fs::remove_all(run);
}

}  // namespace cmt
