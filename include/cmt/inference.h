// cmt's stable public inference API: load a trained run, predict from DICOM/PNG/JPEG with the
// training preprocessing, on the CPU or a GPU (reference: docs/api.md).
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/common/check.h"  // cmt::Error, the only exception this API throws

namespace cmt {

// Options of InferenceModel::load.
struct LoadOptions {
  std::string checkpoint = "last";  // "last", "best" (RUN/<name>.h5) or a path to a checkpoint file
  std::string device = "cpu";       // "cpu", "cuda", "cuda:N" or "auto" (a GPU when there is one)
};

// The result for one study.
struct Prediction {
  std::string source;                    // the input path (or the name given)
  std::vector<float> probabilities;      // one per class, in class_names order, summing to 1
  std::vector<float> latent;             // the latent vector r of the model (latent_dim floats)
  int predicted = 0;                     // index of the largest probability
  std::string predicted_class;           // its class name
  // Inputs that fit the model but may not suit it: an axis under half the model input's size, or a
  // physical extent more than 2x off the training data's (docs/api.md).
  std::vector<std::string> warnings;
};

// The attention decoder's map for one study (paper Fig. 5, docs/models.md), both at the model's input
// size (D, H, W), row-major, D = 1 for 2D.
struct AttentionMap {
  std::string source;
  std::array<int, 3> size{};  // (D, H, W)
  std::vector<float> image;   // the preprocessed input the model saw, in [0, 1]
  std::vector<float> map;     // the sigmoid of the decoder's map resized to the input, in (0, 1)
};

// Options of InferenceModel::explain_files and explain_image (docs/explain.md).
struct ExplainOptions {
  std::string method = "gradcam";  // "gradcam" (Grad-CAM) or "gradcampp" (Grad-CAM++)
  int target_class = -1;           // the class whose score is explained; -1: the predicted class
};

// The attention map of one study: Grad-CAM or Grad-CAM++ on the output of the backbone's last stage,
// upsampled to the model's input size and scaled to [0, 1]. Volumes are D*H*W floats, x fastest.
struct Explanation {
  Prediction prediction;
  int target_class = 0;  // the class explained
  std::string target_class_name;
  float score = 0;                    // its logit (the score differentiated)
  std::array<int, 3> size{};          // (D, H, W) of image and map; D = 1 for 2D
  std::vector<float> image;           // the model's input: the preprocessed study in [0, 1]
  std::vector<float> map;             // the attention map in [0, 1] (all 0 when the weighted sum is <= 0 everywhere)
  std::array<int, 3> feature_size{};  // (d, h, w) of the last stage's output
  std::vector<float> cam;             // the map at that size, before upsampling and scaling
  std::array<int, 3> peak{};          // (z, y, x) of the map's maximum (the first, in memory order)
};

// A study found under a path by InferenceModel::studies.
struct Study {
  std::string source;              // the file, the folder, or "FOLDER series UID" when a folder holds several series
  std::vector<std::string> files;  // the study's files; empty when `error` is set
  std::string error;               // why this path or file cannot be predicted (it does not exist, does not read, ...)
};

// A trained CMT-CNN loaded for inference. Thread-safe: any number of threads may call predict*
// on one model at once; requests are serialized by one mutex per model (one forward at a time).
// Cheap to copy (copies share the loaded model). Every failure throws cmt::Error with a message
// that names the file and the problem; no other exception type escapes.
class InferenceModel {
 public:
  // run_dir: the folder `cmt train` wrote (config.json, data.json, last.h5/best.h5). Refuses a
  // checkpoint of another model (other backbone, width, classes...) or a corrupt one. The
  // checkpoint's structure is read first in a forked child process (HDF5 itself crashes or hangs
  // on some corrupt files): about 6 to 16 ms of CPU, more in a process holding many GiB, since
  // fork copies its page tables. The child calls only HDF5 and exits, so the calling process may
  // have CUDA or MPI initialised; CMT_HDF5_GUARD=off skips it for trusted files
  // (docs/robustness.md).
  static InferenceModel load(const std::string& run_dir, const LoadOptions& options = {});

  // One study: a DICOM file, a PNG/JPEG image, or (CT) a folder holding one DICOM series or a
  // stack of slice images. Input of another kind than the run's data.json is refused with
  // cmt::Error naming the file and both kinds: a 2D image for a 3D model and the reverse, or a CT
  // for an X-ray model and the reverse (where the DICOM Modality or the PNG/JPEG format says).
  // A folder must hold exactly one study by the rules of studies(); one holding several is refused,
  // naming them.
  Prediction predict(const std::string& path) const;
  // The studies under `path`, by the rules `cmt predict` follows (docs/api.md): a file is one
  // study; in a folder, for a CT model each DICOM series is one study (files split by
  // SeriesInstanceUID) and PNG/JPEG slices one more, for an X-ray model each file is one; every
  // subfolder is searched the same way. Files that do not read, and a path that does not exist or
  // holds nothing to predict, come back as studies with an `error`.
  std::vector<Study> studies(const std::string& path) const;
  // One study from explicit files: the slices of a CT series (any order; DICOM positions sort
  // them) or a single file. `name` becomes Prediction::source (default: the first file).
  Prediction predict_files(const std::vector<std::string>& files, const std::string& name = "") const;
  // Whether the run was trained with attention_head; attention_map_files throws cmt::Error otherwise.
  bool has_attention_head() const;
  AttentionMap attention_map_files(const std::vector<std::string>& files, const std::string& name = "") const;

  // The attention map of one study from explicit files (as predict_files reads them), or of an
  // image already preprocessed as the training data were (size() floats in [0, 1], e.g. a sample of a
  // prepared dataset). The same lock as predict: one request at a time.
  Explanation explain_files(const std::vector<std::string>& files, const std::string& name = "",
                            const ExplainOptions& options = {}) const;
  Explanation explain_image(const std::vector<float>& image, const std::string& name, const ExplainOptions& options = {}) const;

  const std::vector<std::string>& class_names() const;
  const std::string& modality() const;          // "ct" or "xray"
  std::array<int, 3> input_size() const;        // (D, H, W) the inputs are resampled to; D = 1 for 2D
  std::int64_t latent_dim() const;
  std::string device() const;                   // e.g. "cpu" or "cuda:0"
  std::string describe() const;                 // the model, e.g. "CMT-CNN resnet50 3D ..."

 private:
  struct Impl;
  explicit InferenceModel(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

// The library's version ("0.1.0") and its optional parts, e.g. "cuda cudnn nccl mpi".
std::string version();
std::string build_features();

}  // namespace cmt
