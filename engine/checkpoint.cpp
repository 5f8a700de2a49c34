// HDF5 checkpoint format (docs/checkpoint-format.md): /parameters/<path>, /buffers/<path>,
// /optimizer/{m,v}, attributes format_version, epoch, step, step_in_epoch, seed, optimizer_steps,
// and JSON strings model, config, metrics, and (mid-epoch, optional) epoch_totals.
#include "engine/checkpoint.h"

#include <hdf5.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "engine/check.h"
#include "engine/hdf5_guard.h"
#include "engine/hdf5_structure.h"
#include "engine/ops/basic.h"
#include "engine/optimizer.h"
#if defined(CMT_WITH_CUDA)
#include <cuda_runtime_api.h>
#endif

namespace cmt {

namespace {

constexpr std::int64_t kFormatVersion = 1;

// Closes an HDF5 handle on scope exit.
struct H5Handle {
  hid_t id = -1;
  herr_t (*close)(hid_t) = nullptr;
  H5Handle(hid_t i, herr_t (*c)(hid_t)) : id(i), close(c) {}
  ~H5Handle() {
    if (id >= 0 && close) close(id);
  }
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;
  operator hid_t() const { return id; }
};

void write_attr_i64(hid_t obj, const char* name, std::int64_t v) {
  H5Handle space(H5_CHECK(H5Screate(H5S_SCALAR)), H5Sclose);
  H5Handle attr(H5_CHECK(H5Acreate2(obj, name, H5T_NATIVE_INT64, space, H5P_DEFAULT, H5P_DEFAULT)), H5Aclose);
  H5_CHECK(H5Awrite(attr, H5T_NATIVE_INT64, &v));
}

std::int64_t read_attr_i64(hid_t obj, const char* name) {
  CMT_CHECK(H5Aexists(obj, name) > 0, "missing attribute '" << name << "'");
  H5Handle attr(H5_CHECK(H5Aopen(obj, name, H5P_DEFAULT)), H5Aclose);
  std::int64_t v = 0;
  H5_CHECK(H5Aread(attr, H5T_NATIVE_INT64, &v));
  return v;
}

void write_attr_str(hid_t obj, const char* name, const std::string& s) {
  H5Handle type(H5_CHECK(H5Tcopy(H5T_C_S1)), H5Tclose);
  H5_CHECK(H5Tset_size(type, std::max<std::size_t>(1, s.size())));
  H5Handle space(H5_CHECK(H5Screate(H5S_SCALAR)), H5Sclose);
  H5Handle attr(H5_CHECK(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT)), H5Aclose);
  std::string padded = s.empty() ? std::string(1, '\0') : s;
  H5_CHECK(H5Awrite(attr, type, padded.data()));
}

std::string read_attr_str(hid_t obj, const char* name) {
  CMT_CHECK(H5Aexists(obj, name) > 0, "missing attribute '" << name << "'");
  H5Handle attr(H5_CHECK(H5Aopen(obj, name, H5P_DEFAULT)), H5Aclose);
  H5Handle type(H5_CHECK(H5Aget_type(attr)), H5Tclose);
  const std::size_t size = H5Tget_size(type);
  std::string s(size, '\0');
  H5Handle mem(H5_CHECK(H5Tcopy(H5T_C_S1)), H5Tclose);
  H5_CHECK(H5Tset_size(mem, size));
  H5_CHECK(H5Aread(attr, mem, s.data()));
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

void write_dataset(hid_t group, const std::string& name, const Tensor& t) {
  Tensor host = t.device().is_cpu() ? t : t.to(Device::cpu());
  std::vector<hsize_t> dims(host.shape().begin(), host.shape().end());
  if (dims.empty()) dims.push_back(1);
  H5Handle space(H5_CHECK(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr)), H5Sclose);
  H5Handle ds(H5_CHECK(H5Dcreate2(group, name.c_str(), H5T_NATIVE_FLOAT, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)), H5Dclose);
  H5_CHECK(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, host.data<float>()));
}

// Reads dataset `name` into `dst` (any device), checking its shape.
void read_dataset(hid_t group, const std::string& name, Tensor& dst, const std::string& what) {
  CMT_CHECK(H5Lexists(group, name.c_str(), H5P_DEFAULT) > 0, what << " '" << name << "' is missing");
  H5Handle ds(H5_CHECK(H5Dopen2(group, name.c_str(), H5P_DEFAULT)), H5Dclose);
  H5Handle space(H5_CHECK(H5Dget_space(ds)), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0)));
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  Shape shape(dims.begin(), dims.end());
  CMT_CHECK(shape.numel() == dst.numel(), what << " '" << name << "' has shape " << shape.str() << ", the model expects "
                                               << dst.shape().str());
  Tensor host = Tensor::empty(dst.shape(), DType::f32);
  H5_CHECK(H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, host.data<float>()));
#if defined(CMT_WITH_CUDA)
  // dst may still be written by work queued on its owner's streams (a fresh store's or optimizer's
  // zero fill): the device finishes it first, or it would overwrite the loaded values.
  if (dst.device().is_cuda()) {
    CUDA_CHECK(cudaSetDevice(dst.device().index));
    CUDA_CHECK(cudaDeviceSynchronize());
  }
#endif
  Context ctx(dst.device());
  ops::copy(ctx, host, dst);
  ctx.synchronize();
}

// Turns any failure while reading `path` into one error that names the file.
template <typename Fn>
auto with_file_context(const std::string& path, const char* verb, Fn&& fn) {
  try {
    return fn();
  } catch (const Error& e) {
    throw Error("checkpoint " + path + ": cannot " + verb + ": " + e.what());
  }
}

hid_t open_for_reading(const std::string& path) {
  CMT_CHECK(std::filesystem::exists(path), "no such file");
  // Everything read below, and all the rest of the file's structure, first in a forked child.
  hdf5_guard::check(path, hdf5_structure::read_all);
  CMT_CHECK(H5Fis_hdf5(path.c_str()) > 0, "not an HDF5 file (corrupt or truncated?)");
  H5E_auto2_t old_fn;
  void* old_data;
  H5Eget_auto2(H5E_DEFAULT, &old_fn, &old_data);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // our errors carry HDF5's messages; don't print them twice
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  H5Eset_auto2(H5E_DEFAULT, old_fn, old_data);
  CMT_CHECK(f >= 0, "HDF5 cannot open it (corrupt or truncated?)");
  return f;
}

// A JSON attribute; a corrupt one is a cmt::Error naming it (nlohmann's own exceptions are not).
nlohmann::json parse_json_attr(hid_t file, const char* name) {
  try {
    return nlohmann::json::parse(read_attr_str(file, name));
  } catch (const nlohmann::json::exception& e) {
    CMT_THROW("attribute '" << name << "' is not valid JSON (" << e.what() << ")");
  }
}

CheckpointState read_state(hid_t file) {
  CheckpointState s;
  const std::int64_t version = read_attr_i64(file, "format_version");
  CMT_CHECK(version == kFormatVersion, "format version " << version << ", this cmt reads version " << kFormatVersion);
  s.epoch = read_attr_i64(file, "epoch");
  s.step = read_attr_i64(file, "step");
  s.step_in_epoch = read_attr_i64(file, "step_in_epoch");
  s.seed = static_cast<std::uint64_t>(read_attr_i64(file, "seed"));
  s.model = read_attr_str(file, "model");
  s.config = parse_json_attr(file, "config");
  s.metrics = parse_json_attr(file, "metrics");
  // Optional: a version 1 file written before it existed resumes with the epoch's sums at zero.
  if (H5Aexists(file, "epoch_totals") > 0) s.epoch_totals = EpochTotals::from_json(parse_json_attr(file, "epoch_totals"));
  return s;
}

}  // namespace

// JSON numbers round-trip doubles exactly (shortest representation that reads back the same bits).
nlohmann::json EpochTotals::to_json() const {
  return {{"loss", loss}, {"loss_cls", loss_cls}, {"loss_cst", loss_cst}, {"positive_similarity", pos_sim}, {"steps", steps},
          {"correct", correct}, {"seen", seen}, {"lr", lr}, {"seconds", seconds}};
}

EpochTotals EpochTotals::from_json(const nlohmann::json& j) try {
  EpochTotals t;
  t.loss = j.at("loss").get<double>();
  t.loss_cls = j.at("loss_cls").get<double>();
  t.loss_cst = j.at("loss_cst").get<double>();
  t.pos_sim = j.at("positive_similarity").get<double>();
  t.steps = j.at("steps").get<std::int64_t>();
  t.correct = j.at("correct").get<std::int64_t>();
  t.seen = j.at("seen").get<std::int64_t>();
  t.lr = j.at("lr").get<double>();
  t.seconds = j.at("seconds").get<double>();
  return t;
} catch (const nlohmann::json::exception& e) {
  CMT_THROW("epoch_totals " << j.dump() << " is malformed: " << e.what());
}

void save_checkpoint(const std::string& path, ParameterStore& store, Adam* optimizer, const CheckpointState& state) {
  const std::string tmp = path + ".tmp";
  int cause = 0;  // the errno of a failed create or write
  try {
    {
      errno = 0;
      const hid_t created = H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
      cause = errno;
      errno = 0;  // a later failure reports its own cause
      H5Handle file(H5_CHECK(created), H5Fclose);
      try {
        write_attr_i64(file, "format_version", kFormatVersion);
        write_attr_i64(file, "epoch", state.epoch);
        write_attr_i64(file, "step", state.step);
        write_attr_i64(file, "step_in_epoch", state.step_in_epoch);
        write_attr_i64(file, "seed", static_cast<std::int64_t>(state.seed));
        write_attr_str(file, "model", state.model);
        write_attr_str(file, "config", state.config.is_null() ? "{}" : state.config.dump());
        write_attr_str(file, "metrics", state.metrics.is_null() ? "[]" : state.metrics.dump());
        if (state.epoch_totals) write_attr_str(file, "epoch_totals", state.epoch_totals->to_json().dump());
        H5Handle params(H5_CHECK(H5Gcreate2(file, "parameters", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)), H5Gclose);
        for (const auto& r : store.parameter_refs()) write_dataset(params, r.path, *r.value);
        H5Handle buffers(H5_CHECK(H5Gcreate2(file, "buffers", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)), H5Gclose);
        for (const auto& r : store.buffer_refs()) write_dataset(buffers, r.path, *r.value);
        if (optimizer) {
          H5Handle opt(H5_CHECK(H5Gcreate2(file, "optimizer", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)), H5Gclose);
          write_attr_i64(opt, "steps", optimizer->steps());
          write_dataset(opt, "m", optimizer->m());
          write_dataset(opt, "v", optimizer->v());
        }
        H5_CHECK(H5Fflush(file, H5F_SCOPE_GLOBAL));
      } catch (...) {
        cause = errno;
        // Emptied before the file is closed: on a full disk this frees the space HDF5 needs to close
        // it, and the space comes back even where the close fails and HDF5 keeps the file open.
        [[maybe_unused]] const int emptied = ::truncate(tmp.c_str(), 0);
        throw;
      }
    }
    std::filesystem::rename(tmp, path);
    hdf5_guard::trust_written(path);
  } catch (const std::exception& e) {
    std::remove(tmp.c_str());
    throw Error("checkpoint " + path + ": cannot write" +
                (cause ? std::string(" (") + std::strerror(cause) + ")" : std::string()) +
                "; nothing under this name was changed. Detail: " + e.what());
  }
}

CheckpointState read_checkpoint_state(const std::string& path) {
  return with_file_context(path, "read", [&] {
    H5Handle file(open_for_reading(path), H5Fclose);
    return read_state(file);
  });
}

CheckpointState load_checkpoint(const std::string& path, ParameterStore& store, Adam* optimizer) {
  return with_file_context(path, "load", [&] {
    H5Handle file(open_for_reading(path), H5Fclose);
    CheckpointState s = read_state(file);
    CMT_CHECK(H5Lexists(file, "parameters", H5P_DEFAULT) > 0, "no /parameters group");
    H5Handle params(H5_CHECK(H5Gopen2(file, "parameters", H5P_DEFAULT)), H5Gclose);
    for (const auto& r : store.parameter_refs()) read_dataset(params, r.path, *r.value, "parameter");
    H5Handle buffers(H5_CHECK(H5Gopen2(file, "buffers", H5P_DEFAULT)), H5Gclose);
    for (const auto& r : store.buffer_refs()) read_dataset(buffers, r.path, *r.value, "buffer");
    if (optimizer) {
      CMT_CHECK(H5Lexists(file, "optimizer", H5P_DEFAULT) > 0, "no optimizer state (saved without one)");
      H5Handle opt(H5_CHECK(H5Gopen2(file, "optimizer", H5P_DEFAULT)), H5Gclose);
      optimizer->set_steps(read_attr_i64(opt, "steps"));
      read_dataset(opt, "m", optimizer->m(), "optimizer state");
      read_dataset(opt, "v", optimizer->v(), "optimizer state");
    }
    Context ctx(store.params().device());
    store.refresh_compute(ctx);  // checkpoints hold fp32 only: the bf16 copies are derived
    ctx.synchronize();
    return s;
  });
}

}  // namespace cmt
