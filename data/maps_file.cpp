// The attention-map file: streaming writer and reader.
#include "data/maps_file.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <set>

#include "data/hdf5_util.h"
#include "engine/hdf5_guard.h"
#include "engine/hdf5_structure.h"

namespace cmt::data {

namespace {
constexpr const char* kFormat = "cmt-maps";
constexpr long long kVersion = 1;

std::vector<hsize_t> dims_of(const Shape& s) {
  return {static_cast<hsize_t>(s[0]), static_cast<hsize_t>(s[1]), static_cast<hsize_t>(s[2])};
}
}  // namespace

MapsWriter::MapsWriter(const std::string& path, Shape sample_shape, const MapsInfo& info)
    : path_(path), tmp_(path + ".tmp-" + std::to_string(::getpid())), shape_(sample_shape), info_(info) {
  CMT_CHECK(sample_shape.rank() == 3 && sample_shape.numel() > 0, path << ": bad map shape " << sample_shape.str());
  std::lock_guard<std::recursive_mutex> lock(h5::library_mutex());
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const hid_t f = H5Fcreate(tmp_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  CMT_CHECK(f >= 0, tmp_ << ": cannot create the maps file");
  file_ = f;
  maps_ = h5::create_rows(f, "maps", H5T_IEEE_F32LE, dims_of(shape_), 4);
}

MapsWriter::~MapsWriter() {
  std::lock_guard<std::recursive_mutex> lock(h5::library_mutex());
  if (maps_ >= 0) H5Dclose(maps_);
  if (file_ >= 0) H5Fclose(file_);
  if (!finished_) std::remove(tmp_.c_str());
}

void MapsWriter::add(std::int64_t sample_index, const float* map) {
  CMT_CHECK(!finished_, path_ << ": add() after finish()");
  CMT_CHECK(sample_index >= 0, path_ << ": sample index " << sample_index << " is negative");
  for (std::int64_t s : index_) CMT_CHECK(s != sample_index, path_ << ": sample " << sample_index << " has a map already");
  std::lock_guard<std::recursive_mutex> lock(h5::library_mutex());
  h5::append_row(maps_, static_cast<hsize_t>(index_.size()), dims_of(shape_), H5T_NATIVE_FLOAT, map);
  index_.push_back(sample_index);
}

void MapsWriter::finish() {
  CMT_CHECK(!finished_, path_ << ": finish() called twice");
  {
    std::lock_guard<std::recursive_mutex> lock(h5::library_mutex());
    const hid_t f = file_;
    h5::write_array(f, "sample_index", H5T_NATIVE_INT64, {index_.size()}, index_.data());
    h5::write_string_attr(f, "format", kFormat);
    h5::write_int_attr(f, "version", kVersion);
    h5::write_string_attr(f, "run", info_.run);
    h5::write_string_attr(f, "method", info_.method);
    h5::write_string_attr(f, "dataset", info_.dataset);
    const hid_t maps = maps_;
    maps_ = -1;
    H5_CHECK(H5Dclose(maps));
    file_ = -1;
    H5_CHECK(H5Fclose(f));
  }
  std::filesystem::rename(tmp_, path_);
  hdf5_guard::trust_written(path_);
  finished_ = true;
}

struct MapsFile::Impl {
  std::string path;
  MapsInfo info;
  h5::Id file, maps;
  Shape shape;
  std::vector<std::int64_t> index;
};

MapsFile::MapsFile(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MapsFile::MapsFile(MapsFile&&) noexcept = default;
MapsFile& MapsFile::operator=(MapsFile&&) noexcept = default;
MapsFile::~MapsFile() {
  if (!impl_) return;
  std::lock_guard<std::recursive_mutex> lock(h5::library_mutex());
  impl_.reset();
}

MapsFile MapsFile::open(const std::string& path) {
  std::lock_guard<std::recursive_mutex> lock(h5::library_mutex());
  CMT_CHECK(std::filesystem::is_regular_file(path), path << ": no such maps file");
  try {
    // A maps file may come from any tool: its structure is read first in a forked child.
    hdf5_guard::check(path, [](const std::string& p) { hdf5_structure::read_all(p); });
  } catch (const Error& e) {
    CMT_THROW(path << ": " << e.what());
  }
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->file = h5::open_read_only(path, "maps");
  const hid_t f = impl->file;
  try {
    CMT_CHECK(H5Aexists(f, "format") > 0 && h5::read_string_attr(f, "format") == kFormat,
              "not an attention-map file (no format attribute '" << kFormat << "')");
    const long long version = h5::read_int_attr(f, "version");
    CMT_CHECK(version == kVersion, "maps format version " << version << ", this cmt reads version " << kVersion);
    const auto attr = [f](const char* key) { return H5Aexists(f, key) > 0 ? h5::read_string_attr(f, key) : std::string(); };
    impl->info = {attr("run"), attr("method"), attr("dataset")};
    impl->maps = h5::Id(H5_CHECK(H5Dopen2(f, "maps", H5P_DEFAULT)), H5Dclose);
    const auto dims = h5::dims_of(impl->maps);
    CMT_CHECK(dims.size() == 4, "/maps must be (N, D, H, W), has rank " << dims.size());
    h5::Id type(H5_CHECK(H5Dget_type(impl->maps)), H5Tclose);
    CMT_CHECK(H5Tget_class(type) == H5T_FLOAT, "/maps must hold floating-point values");
    impl->shape =
        Shape{static_cast<std::int64_t>(dims[1]), static_cast<std::int64_t>(dims[2]), static_cast<std::int64_t>(dims[3])};
    h5::Id ds(H5_CHECK(H5Dopen2(f, "sample_index", H5P_DEFAULT)), H5Dclose);
    CMT_CHECK(h5::dims_of(ds) == std::vector<hsize_t>{dims[0]}, "/sample_index does not have one entry per map");
    impl->index.resize(dims[0]);
    if (dims[0]) H5_CHECK(H5Dread(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, impl->index.data()));
    std::set<std::int64_t> seen;
    for (std::int64_t s : impl->index) {
      CMT_CHECK(s >= 0, "/sample_index holds " << s << ", not a dataset row");
      CMT_CHECK(seen.insert(s).second, "/sample_index lists sample " << s << " twice");
    }
  } catch (const Error& e) {
    CMT_THROW(path << ": " << e.what());
  }
  return MapsFile(std::move(impl));
}

const std::string& MapsFile::path() const { return impl_->path; }
const MapsInfo& MapsFile::info() const { return impl_->info; }
std::int64_t MapsFile::size() const { return static_cast<std::int64_t>(impl_->index.size()); }
Shape MapsFile::sample_shape() const { return impl_->shape; }
const std::vector<std::int64_t>& MapsFile::sample_index() const { return impl_->index; }

void MapsFile::read_map(std::int64_t k, float* dst) const {
  CMT_CHECK(k >= 0 && k < size(), impl_->path << ": map " << k << " out of range [0, " << size() << ")");
  std::lock_guard<std::recursive_mutex> lock(h5::library_mutex());
  h5::read_row(impl_->maps, static_cast<hsize_t>(k), dims_of(impl_->shape), H5T_NATIVE_FLOAT, dst);
}

}  // namespace cmt::data
