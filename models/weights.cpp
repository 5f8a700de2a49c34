// Loading exported torchvision state dicts (HDF5, one dataset per tensor, cmt layouts).
#include "models/weights.h"

#include <hdf5.h>

#include <map>
#include <sstream>

#include "engine/check.h"
#include "engine/hdf5_guard.h"
#include "engine/hdf5_structure.h"
#include "engine/ops/basic.h"

namespace cmt::models {

namespace {

struct FileTensor {
  std::vector<std::int64_t> shape;
  std::vector<float> data;
};

// 2^28 floats (1 GiB): over twice the largest tensor of the backbones (VGG-19's first fully
// connected layer, 102.8 million).
constexpr hssize_t kMaxTensorElements = hssize_t{1} << 28;

// Closes an HDF5 object on every path out of a scope.
struct Handle {
  hid_t id;
  herr_t (*close)(hid_t);
  ~Handle() { close(id); }
};

herr_t list_datasets(hid_t, const char* name, const H5L_info_t*, void* out) {
  static_cast<std::vector<std::string>*>(out)->push_back(name);
  return 0;
}

std::map<std::string, FileTensor> read_all(const std::string& path) {
  hdf5_guard::check(path, hdf5_structure::read_all);  // the file's structure first in a forked child
  CMT_CHECK(H5Fis_hdf5(path.c_str()) > 0, path << ": not an HDF5 file (export weights with tools/export_torchvision.py)");
  const hid_t f = H5_CHECK(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  std::map<std::string, FileTensor> out;
  try {
    std::vector<std::string> names;
    H5_CHECK(H5Literate(f, H5_INDEX_NAME, H5_ITER_INC, nullptr, list_datasets, &names));
    for (const auto& n : names) {
      const Handle ds{H5_CHECK(H5Dopen2(f, n.c_str(), H5P_DEFAULT)), H5Dclose};
      const Handle space{H5_CHECK(H5Dget_space(ds.id)), H5Sclose};
      // The element count comes from the file: a corrupt one may claim terabytes.
      const hssize_t points = H5Sget_simple_extent_npoints(space.id);
      CMT_CHECK(points >= 0 && points <= kMaxTensorElements, path << ": tensor '" << n << "' claims " << points
                                                                  << " elements, more than any backbone's (limit "
                                                                  << kMaxTensorElements << "; a corrupt file?)");
      const Handle layout{H5_CHECK(H5Dget_create_plist(ds.id)), H5Pclose};
      const hsize_t stored = H5Dget_storage_size(ds.id);
      CMT_CHECK(H5Pget_nfilters(layout.id) > 0 || stored >= static_cast<hsize_t>(points) * H5Tget_size(H5T_NATIVE_FLOAT) / 2,
                path << ": tensor '" << n << "' claims " << points << " elements but the file stores " << stored
                     << " bytes of it (truncated or corrupt)");  // half: a tensor stored as float16 is read as float
      const int rank = H5Sget_simple_extent_ndims(space.id);
      std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0)));
      H5Sget_simple_extent_dims(space.id, dims.data(), nullptr);
      FileTensor t;
      for (hsize_t d : dims) t.shape.push_back(static_cast<std::int64_t>(d));
      t.data.resize(static_cast<std::size_t>(points));
      H5_CHECK(H5Dread(ds.id, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data.data()));
      out[n] = std::move(t);
    }
  } catch (...) {
    H5Fclose(f);
    throw;
  }
  H5Fclose(f);
  return out;
}

}  // namespace

int load_torchvision_weights(Context& ctx, ParameterStore& store, const std::string& path, const WeightLoadOptions& opt) {
  std::map<std::string, FileTensor> file;
  try {
    file = read_all(path);
  } catch (const Error& e) {
    throw Error("weights " + path + ": " + e.what());
  }
  auto skipped = [&](const std::string& name) {
    for (const auto& p : opt.skip_prefixes)
      if (name.rfind(p, 0) == 0) return true;
    return false;
  };
  std::vector<std::string> missing, mismatched;
  std::map<std::string, bool> used;
  int loaded = 0;
  std::vector<ParameterRef> refs = store.parameter_refs();
  refs.insert(refs.end(), store.buffer_refs().begin(), store.buffer_refs().end());
  for (const auto& r : refs) {
    if (r.path.rfind(opt.prefix, 0) != 0) continue;
    const std::string name = r.path.substr(opt.prefix.size());
    if (skipped(name)) continue;
    auto it = file.find(name);
    if (it == file.end()) {
      if (opt.strict) missing.push_back(name);
      continue;
    }
    used[name] = true;
    const Shape want = r.value->shape();
    FileTensor& t = it->second;
    Shape got(t.shape.begin(), t.shape.end());
    std::vector<float> data = t.data;
    // (K, 1, R, S, 3) into (K, 1, R, S, 1): sum the colour channels.
    if (opt.sum_rgb_to_grey && got.rank() == 5 && want.rank() == 5 && got[4] == 3 && want[4] == 1 && got[0] == want[0] &&
        got[1] == want[1] && got[2] == want[2] && got[3] == want[3]) {
      std::vector<float> grey(static_cast<std::size_t>(want.numel()));
      for (std::size_t i = 0; i < grey.size(); ++i) grey[i] = data[3 * i] + data[3 * i + 1] + data[3 * i + 2];
      data = std::move(grey);
      got = want;
    }
    if (!(got == want)) {
      mismatched.push_back(name + " (file " + got.str() + ", model " + want.str() + ")");
      continue;
    }
    Tensor host = Tensor::from_vector(data, want);
    ops::copy(ctx, host, *r.value);
    ++loaded;
  }
  std::vector<std::string> unexpected;
  for (const auto& [name, t] : file)
    if (!used.count(name) && !skipped(name)) unexpected.push_back(name);
  if (!missing.empty() || !mismatched.empty() || (opt.strict && !unexpected.empty())) {
    std::ostringstream os;
    auto list = [&](const char* what, const std::vector<std::string>& v) {
      if (v.empty()) return;
      os << "; " << v.size() << " " << what << ":";
      for (std::size_t i = 0; i < std::min<std::size_t>(v.size(), 8); ++i) os << " " << v[i];
      if (v.size() > 8) os << " ...";
    };
    list("missing from the file", missing);
    list("with the wrong shape", mismatched);
    list("in the file but not in the model", unexpected);
    CMT_THROW("weights " << path << " do not match the model" << os.str());
  }
  store.refresh_compute(ctx);
  ctx.synchronize();
  return loaded;
}

}  // namespace cmt::models
