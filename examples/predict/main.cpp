// Example: embed cmt's inference API in a C++ program. Loads a run of `cmt train`, predicts each
// input (a DICOM file, a DICOM series folder, a PNG/JPEG) from several threads at once, and prints
// the class probabilities and the latent vector's size.
//
//   cmt_predict_example [--checkpoint last|best|FILE] [--device cpu|cuda|auto] [--threads N] RUN_DIR INPUT...
#include <cmt/inference.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  cmt::LoadOptions options;
  int threads = 2;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if ((a == "--checkpoint" || a == "--device" || a == "--threads") && i + 1 < argc) {
      const std::string v = argv[++i];
      if (a == "--checkpoint") options.checkpoint = v;
      else if (a == "--device") options.device = v;
      else threads = std::max(1, std::atoi(v.c_str()));
    } else {
      args.push_back(a);
    }
  }
  if (args.size() < 2) {
    std::fprintf(stderr, "usage: %s [--checkpoint last|best|FILE] [--device cpu|cuda|auto] [--threads N] RUN_DIR INPUT...\n", argv[0]);
    return 2;
  }
  try {
    const cmt::InferenceModel model = cmt::InferenceModel::load(args[0], options);
    std::printf("model %s on %s, cmt %s (%s)\n", model.describe().c_str(), model.device().c_str(), cmt::version().c_str(),
                cmt::build_features().c_str());
    const std::vector<std::string> inputs(args.begin() + 1, args.end());
    // Concurrent requests on one loaded model: each thread takes every threads-th input.
    std::vector<cmt::Prediction> results(inputs.size());
    std::vector<std::string> errors(inputs.size());
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        for (std::size_t i = static_cast<std::size_t>(t); i < inputs.size(); i += static_cast<std::size_t>(threads)) {
          try {
            results[i] = model.predict(inputs[i]);
          } catch (const cmt::Error& e) {
            errors[i] = e.what();
          }
        }
      });
    for (auto& th : pool) th.join();
    int failures = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (!errors[i].empty()) {
        std::fprintf(stderr, "error: %s\n", errors[i].c_str());
        ++failures;
        continue;
      }
      const cmt::Prediction& p = results[i];
      std::printf("study %s\npredicted %s\n", p.source.c_str(), p.predicted_class.c_str());
      for (std::size_t k = 0; k < p.probabilities.size(); ++k)
        std::printf("probability %s %.9g\n", model.class_names()[k].c_str(), static_cast<double>(p.probabilities[k]));
      std::printf("latent %zu\n", p.latent.size());
    }
    return failures ? 1 : 0;
  } catch (const cmt::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
