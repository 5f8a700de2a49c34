// What a run folder of `cmt train` records for inference (RUN/data.json, the model part of
// RUN/config.json), shared by the public inference API and the apps.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "data/dataset_identity.h"
#include "data/ingest.h"
#include "data/input_check.h"
#include "engine/shape.h"
#include "models/cmt_model.h"

namespace cmt::api {

// What a trained model needs to know of its data, kept in RUN/data.json so that eval and predict
// work without the training dataset.
struct DataInfo {
  std::vector<std::string> class_names;
  Shape sample_shape;  // (D, H, W), D = 1 for 2D
  std::string modality;
  std::string window;  // "LO,HI" HU window of the preprocessing
  std::vector<float> class_weights;  // the training fold's "balanced" weights, when used
  // Median physical extent (z, y, x) mm of the training samples; empty when their spacing was only
  // the nominal 1 mm of PNG/JPEG (and in runs written before it was recorded).
  std::vector<double> extent_mm;
  // The training dataset (absolute path, size, header hash), so that eval finds it from any
  // directory and knows it is the same file; absent in runs written before it was recorded.
  std::optional<data::DatasetIdentity> dataset;
  nlohmann::json to_json() const;
  static DataInfo from_json(const nlohmann::json& j);
  // balanced: scikit-learn's "balanced" class weights from the training samples `train`.
  static DataInfo from_dataset(const data::Dataset& ds, bool balanced, const std::vector<std::int64_t>& train);
};

// The model a run describes: `config` is RUN/config.json (every key present, as `cmt train` writes it).
models::CmtConfig model_config(const nlohmann::json& config, const DataInfo& info);

// The preprocessing the training data had (size and HU window), for raw inputs.
data::Preprocess preprocess_of(const DataInfo& info);

// What the run was trained on, for checking inputs of inference.
data::TrainedOn trained_on(const DataInfo& info);

// Reads RUN/config.json and RUN/data.json; throws cmt::Error naming the folder.
struct RunFiles {
  nlohmann::json config;
  DataInfo info;
};
RunFiles read_run_files(const std::string& run_dir);

}  // namespace cmt::api
