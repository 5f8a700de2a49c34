// The public inference API (include/cmt/inference.h): a run folder -> model on a device; raw
// studies -> the training preprocessing -> probabilities and latent vector, one request at a time.
#include "cmt/inference.h"

#include <algorithm>
#include <filesystem>
#include <mutex>

#include "api/run_files.h"
#include "cmt/build_info.h"
#include "engine/checkpoint.h"
#include "engine/cuda_runtime.h"
#include "engine/ops/basic.h"
#include "engine/ops/conv.h"
#include "engine/parameters.h"
#include "engine/precision.h"
#include "models/attention_map.h"

namespace cmt {

namespace fs = std::filesystem;

namespace {

// Runs fn; any exception other than cmt::Error becomes one, prefixed with `what`.
template <typename Fn>
auto guarded(const std::string& what, Fn&& fn) {
  try {
    return fn();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(what + ": " + e.what());
  } catch (...) {
    throw Error(what + ": unknown error");
  }
}

std::string checkpoint_path(const std::string& run_dir, const std::string& checkpoint) {
  return checkpoint == "best" || checkpoint == "last" ? (fs::path(run_dir) / (checkpoint + ".h5")).string() : checkpoint;
}

}  // namespace

struct InferenceModel::Impl {
  struct Input {
    Tensor device;            // (1, D, H, W, 1) on the model's device, shifted as in training
    std::vector<float> host;  // the preprocessed input in [0, 1]
    std::vector<std::string> warnings;
  };
  Input load_input(const std::vector<std::string>& files, const std::string& source);

  api::DataInfo info;
  data::Preprocess pre;
  data::TrainedOn trained;
  std::unique_ptr<Context> ctx;
  std::unique_ptr<models::CmtModel> model;
  std::unique_ptr<ParameterStore> store;
  std::mutex mutex;  // one forward at a time: the context, its allocator and the layers' scratch are not shared-safe
};

InferenceModel::InferenceModel(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

InferenceModel InferenceModel::load(const std::string& run_dir, const LoadOptions& options) {
  return guarded("cmt: cannot load " + run_dir, [&] {
    api::RunFiles run = api::read_run_files(run_dir);
    auto impl = std::make_shared<Impl>();
    impl->info = run.info;
    impl->pre = api::preprocess_of(run.info);
    impl->trained = api::trained_on(run.info);
    impl->ctx = std::make_unique<Context>(resolve_device(options.device),
                                          PrecisionPolicy::parse(run.config.value("precision", std::string("fp32"))));
    ops::set_conv_backend(run.config.value("conv_backend", std::string("native")) == "cudnn" ? ops::ConvBackend::cudnn
                                                                                             : ops::ConvBackend::native);
    impl->model = std::make_unique<models::CmtModel>(api::model_config(run.config, run.info));
    impl->store = std::make_unique<ParameterStore>(*impl->ctx, impl->model->root());
    const std::string path = checkpoint_path(run_dir, options.checkpoint);
    // The model check comes first so that another model's checkpoint is named as such, not as a shape error.
    const CheckpointState state = read_checkpoint_state(path);
    CMT_CHECK(state.model == impl->model->describe(), "checkpoint " << path << " holds " << state.model << ", but the run "
                                                                    << run_dir << " describes " << impl->model->describe());
    load_checkpoint(path, *impl->store, nullptr);
    return InferenceModel(std::move(impl));
  });
}

Prediction InferenceModel::predict(const std::string& path) const {
  return guarded("cmt: cannot predict " + path, [&] {
    const std::vector<Study> found = studies(path);
    if (found.size() > 1) {
      std::string names;
      for (std::size_t i = 0; i < found.size() && i < 3; ++i) names += (i ? ", " : "") + found[i].source;
      CMT_THROW(path << " holds " << found.size() << " studies (" << names << (found.size() > 3 ? ", ..." : "")
                     << "): predict each of studies(path)");
    }
    const Study& s = found.front();
    CMT_CHECK(s.error.empty(), s.source << ": " << s.error);
    return predict_files(s.files, s.source);
  });
}

// Loads and preprocesses one study like training did; the caller holds the model's mutex.
InferenceModel::Impl::Input InferenceModel::Impl::load_input(const std::vector<std::string>& files, const std::string& source) {
  Impl& m = *this;
  CMT_CHECK(!files.empty(), "no input files");
  // Refused before any pixel is read: resampling would make any image fit, and the answer would be noise.
  const std::string mismatch = data::input_mismatch(data::inspect_input(files), m.trained, source);
  CMT_CHECK(mismatch.empty(), mismatch);
  bool hu = false;
  const data::Volume v = data::load_item({"", "", files, source}, m.info.modality, hu);
  Context host(Device::cpu());
  Input in;
  in.host = data::preprocess(host, v, hu, m.pre);
  in.warnings = data::input_warnings(v, m.trained, source);
  Tensor t = Tensor::from_vector(in.host, Shape{1, m.pre.size[0], m.pre.size[1], m.pre.size[2], 1});
  in.device = m.ctx->device().is_cpu() ? t : t.to(m.ctx->device());
  ops::add_scalar_(*m.ctx, in.device, -0.5f);  // the shift training applies after augmentation
  return in;
}

Prediction InferenceModel::predict_files(const std::vector<std::string>& files, const std::string& name) const {
  const std::string source = !name.empty() ? name : files.empty() ? std::string("(no files)") : files.front();
  return guarded("cmt: cannot predict " + source, [&] {
    Impl& m = *impl_;
    std::lock_guard<std::mutex> lock(m.mutex);
    const Impl::Input in = m.load_input(files, source);
    Prediction p;
    p.source = source;
    p.warnings = in.warnings;
    p.probabilities = m.model->predict(*m.ctx, in.device).to_vector<float>();
    p.latent = m.model->embed(*m.ctx, in.device).to_vector<float>();
    m.ctx->synchronize();
    p.predicted = static_cast<int>(std::max_element(p.probabilities.begin(), p.probabilities.end()) - p.probabilities.begin());
    p.predicted_class = m.info.class_names[static_cast<std::size_t>(p.predicted)];
    return p;
  });
}

bool InferenceModel::has_attention_head() const { return impl_->model->attention_decoder() != nullptr; }

AttentionMap InferenceModel::attention_map_files(const std::vector<std::string>& files, const std::string& name) const {
  const std::string source = !name.empty() ? name : files.empty() ? std::string("(no files)") : files.front();
  return guarded("cmt: cannot map attention of " + source, [&] {
    Impl& m = *impl_;
    std::lock_guard<std::mutex> lock(m.mutex);
    Impl::Input in = m.load_input(files, source);
    AttentionMap a;
    a.source = source;
    a.size = m.pre.size;
    a.map = models::attention_map(*m.ctx, *m.model, in.device).to_vector<float>();
    m.ctx->synchronize();
    a.image = std::move(in.host);
    return a;
  });
}

const std::vector<std::string>& InferenceModel::class_names() const { return impl_->info.class_names; }
const std::string& InferenceModel::modality() const { return impl_->info.modality; }
std::array<int, 3> InferenceModel::input_size() const { return impl_->pre.size; }
std::int64_t InferenceModel::latent_dim() const { return impl_->model->config().latent_dim; }
std::string InferenceModel::device() const { return impl_->ctx->device().str(); }
std::string InferenceModel::describe() const { return impl_->model->describe(); }

std::string version() { return CMT_VERSION; }

std::string build_features() {
  std::string f;
  auto on = [](const char* v) { return std::string(v) == "ON" || std::string(v) == "1" || std::string(v) == "TRUE"; };
  if (on(CMT_OPT_CUDA)) f += "cuda ";
  if (on(CMT_OPT_CUDNN)) f += "cudnn ";
  if (on(CMT_OPT_NCCL)) f += "nccl ";
  if (on(CMT_OPT_MPI)) f += "mpi ";
  if (!f.empty()) f.pop_back();
  return f;
}

}  // namespace cmt
