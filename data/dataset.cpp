// The HDF5 dataset: reading (Dataset) and atomic writing (DatasetWriter).
#include "data/dataset.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "data/folds.h"
#include "data/hdf5_util.h"
#include "engine/hdf5_guard.h"
#include "engine/hdf5_structure.h"

namespace cmt::data {

namespace {
constexpr const char* kFormat = "cmt-dataset";
// Version 1: images and their index. Version 2 adds lesion masks (/masks, /has_mask, /mask_voxels);
// a dataset without masks is still written as version 1, so older readers keep reading it.
constexpr long long kVersion = 1, kVersionWithMasks = 2;
constexpr float kScale = 1.0f / 65535.0f;  // images are stored as u16 quanta of [0, 1]

// HDF5 is not thread-safe in Debian's serial build: every call of this library goes through one
// lock, the one the HDF5 guard forks under.
std::recursive_mutex& hdf5_mutex() { return h5::library_mutex(); }
using Lock = std::lock_guard<std::recursive_mutex>;

std::vector<hsize_t> sample_dims(const Shape& s) {
  return {static_cast<hsize_t>(s[0]), static_cast<hsize_t>(s[1]), static_cast<hsize_t>(s[2])};
}

// A 1D dataset of n values of `type` read whole; it must have one entry per image.
template <typename T>
std::vector<T> read_per_sample(hid_t f, const char* name, hid_t type, std::int64_t n) {
  std::vector<T> out(static_cast<std::size_t>(n));
  h5::Id ds(H5_CHECK(H5Dopen2(f, name, H5P_DEFAULT)), H5Dclose);
  CMT_CHECK(h5::dims_of(ds) == std::vector<hsize_t>{static_cast<hsize_t>(n)},
            "/" << name << " does not have one entry per image");
  if (n) H5_CHECK(H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()));
  return out;
}
}  // namespace

struct Dataset::Impl {
  std::string path;
  h5::Id file, images, masks;  // masks: absent (-1) in a dataset without them
  std::int64_t n = 0;
  std::vector<std::uint8_t> has_mask;
  std::vector<std::int64_t> mask_voxels;
  Shape shape;
  std::vector<std::int32_t> labels, folds;
  std::vector<std::string> patients, classes, sources;
  std::string modality;
  int num_folds = 0;
  std::vector<std::uint16_t> scratch;
};

Dataset::Dataset(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Dataset::Dataset(Dataset&&) noexcept = default;
Dataset& Dataset::operator=(Dataset&&) noexcept = default;
Dataset::~Dataset() {
  if (!impl_) return;
  Lock lock(hdf5_mutex());
  impl_.reset();
}

// The index of a dataset, validated: what Dataset::open reads, without the lock (the HDF5 guard's
// child runs it too). Errors do not name the file; Dataset::open adds it.
std::unique_ptr<Dataset::Impl> Dataset::read_index(const std::string& path) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  CMT_CHECK(H5Fis_hdf5(path.c_str()) > 0, "not an HDF5 file (or truncated)");
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  CMT_CHECK(f >= 0, "HDF5 cannot open the file");
  impl->file = h5::Id(f, H5Fclose);
  CMT_CHECK(H5Aexists(f, "format") > 0 && h5::read_string_attr(f, "format") == kFormat,
            "not a cmt dataset (no format attribute '" << kFormat << "'; write one with `cmt prepare`)");
  const long long version = h5::read_int_attr(f, "version");
  CMT_CHECK(version == kVersion || version == kVersionWithMasks,
            "dataset format version " << version << ", this cmt reads versions " << kVersion << " and " << kVersionWithMasks);
  impl->modality = h5::read_string_attr(f, "modality");
  impl->num_folds = static_cast<int>(h5::read_int_attr(f, "num_folds"));
  impl->images = h5::Id(H5_CHECK(H5Dopen2(f, "images", H5P_DEFAULT)), H5Dclose);
  const auto dims = h5::dims_of(impl->images);
  CMT_CHECK(dims.size() == 4, "/images must be (N, D, H, W), has rank " << dims.size());
  impl->n = static_cast<std::int64_t>(dims[0]);
  // /labels and /folds hold 4 bytes per image, uncompressed: a count the file cannot hold is a
  // corrupt header, refused before the arrays are allocated.
  const std::uintmax_t file_bytes = std::filesystem::file_size(path);
  CMT_CHECK(dims[0] <= file_bytes / 8, "/images claims " << dims[0] << " images, more than a file of " << file_bytes
                                                         << " bytes can list (truncated or corrupt)");
  impl->shape = Shape{static_cast<std::int64_t>(dims[1]), static_cast<std::int64_t>(dims[2]), static_cast<std::int64_t>(dims[3])};
  impl->labels = read_per_sample<std::int32_t>(f, "labels", H5T_NATIVE_INT32, impl->n);
  impl->folds = read_per_sample<std::int32_t>(f, "folds", H5T_NATIVE_INT32, impl->n);
  impl->patients = h5::read_strings(f, "patient_ids");
  impl->sources = h5::read_strings(f, "source_paths");
  impl->classes = h5::read_strings(f, "class_names");
  CMT_CHECK(static_cast<std::int64_t>(impl->patients.size()) == impl->n, "/patient_ids does not have one entry per image");
  for (std::int32_t l : impl->labels)
    CMT_CHECK(l >= 0 && l < static_cast<std::int32_t>(impl->classes.size()), "label " << l << " outside the " << impl->classes.size() << " classes");
  if (version == kVersionWithMasks) {
    impl->masks = h5::Id(H5_CHECK(H5Dopen2(f, "masks", H5P_DEFAULT)), H5Dclose);
    CMT_CHECK(h5::dims_of(impl->masks) == dims, "/masks must have the shape of /images");
    impl->has_mask = read_per_sample<std::uint8_t>(f, "has_mask", H5T_NATIVE_UINT8, impl->n);
    impl->mask_voxels = read_per_sample<std::int64_t>(f, "mask_voxels", H5T_NATIVE_INT64, impl->n);
    for (std::uint8_t m : impl->has_mask) CMT_CHECK(m <= 1, "/has_mask holds " << int{m} << ", not 0 or 1");
  } else {
    impl->has_mask.assign(static_cast<std::size_t>(impl->n), 0);
    impl->mask_voxels.assign(static_cast<std::size_t>(impl->n), 0);
  }
  return impl;
}

Dataset Dataset::open(const std::string& path) {
  Lock lock(hdf5_mutex());
  CMT_CHECK(std::filesystem::is_regular_file(path), path << ": no such dataset file");
  try {
    // The index and the rest of the file's structure (every attribute, the chunk index of /images,
    // the first sample's chunk) first in a forked child; then the same index in this process.
    hdf5_guard::check(path, [](const std::string& p) {
      read_index(p);
      hdf5_structure::read_all(p);
    });
    return Dataset(read_index(path));
  } catch (const Error& e) {
    CMT_THROW(path << ": " << e.what());
  }
}

const std::string& Dataset::path() const { return impl_->path; }
std::int64_t Dataset::size() const { return impl_->n; }
Shape Dataset::sample_shape() const { return impl_->shape; }
std::vector<std::string> Dataset::class_names() const { return impl_->classes; }
std::string Dataset::modality() const { return impl_->modality; }
std::vector<std::int32_t> Dataset::labels() const { return impl_->labels; }
std::vector<std::string> Dataset::patient_ids() const { return impl_->patients; }
std::vector<std::string> Dataset::source_paths() const { return impl_->sources; }
int Dataset::num_folds() const { return impl_->num_folds; }
bool Dataset::has_masks() const { return impl_->masks.get() >= 0; }
std::vector<std::uint8_t> Dataset::mask_flags() const { return impl_->has_mask; }
std::vector<std::int64_t> Dataset::mask_voxels() const { return impl_->mask_voxels; }

bool Dataset::read_mask(std::int64_t i, std::uint8_t* dst) const {
  CMT_CHECK(i >= 0 && i < impl_->n, impl_->path << ": sample " << i << " out of range [0, " << impl_->n << ")");
  if (!impl_->has_mask[static_cast<std::size_t>(i)]) return false;
  Lock lock(hdf5_mutex());
  h5::read_row(impl_->masks, static_cast<hsize_t>(i), sample_dims(impl_->shape), H5T_NATIVE_UINT8, dst);
  return true;
}
std::vector<std::int32_t> Dataset::folds() const { return impl_->folds; }

void Dataset::relabel(const std::vector<std::string>& names, const std::vector<std::int32_t>& old_to_new) {
  CMT_CHECK(old_to_new.size() == impl_->classes.size(),
            impl_->path << ": relabelling needs one new label per class (" << impl_->classes.size() << ")");
  for (std::int32_t l : old_to_new)
    CMT_CHECK(l >= 0 && l < static_cast<std::int32_t>(names.size()),
              impl_->path << ": new label " << l << " outside the new classes");
  for (std::int32_t& l : impl_->labels) l = old_to_new[static_cast<std::size_t>(l)];
  impl_->classes = names;
}

std::vector<std::array<double, 3>> Dataset::spacings() const {
  Lock lock(hdf5_mutex());
  std::vector<std::array<double, 3>> out(static_cast<std::size_t>(impl_->n));
  h5::Id ds(H5_CHECK(H5Dopen2(impl_->file, "spacing", H5P_DEFAULT)), H5Dclose);
  if (impl_->n) H5_CHECK(H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()));
  return out;
}

std::vector<std::array<std::int32_t, 3>> Dataset::original_shapes() const {
  Lock lock(hdf5_mutex());
  std::vector<std::array<std::int32_t, 3>> out(static_cast<std::size_t>(impl_->n));
  h5::Id ds(H5_CHECK(H5Dopen2(impl_->file, "original_shape", H5P_DEFAULT)), H5Dclose);
  if (impl_->n) H5_CHECK(H5Dread(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()));
  return out;
}

std::string Dataset::attribute(const std::string& name) const {
  Lock lock(hdf5_mutex());
  if (H5Aexists(impl_->file, name.c_str()) <= 0) return {};
  return h5::read_string_attr(impl_->file, name);
}

std::vector<std::int64_t> Dataset::fold_indices(int fold, bool held_out) const {
  CMT_CHECK(fold >= 0 && fold < impl_->num_folds, impl_->path << ": fold " << fold << " out of range (the dataset has "
                                                             << impl_->num_folds << " folds)");
  std::vector<std::int64_t> out;
  for (std::int64_t i = 0; i < impl_->n; ++i)
    if ((impl_->folds[static_cast<std::size_t>(i)] == fold) == held_out) out.push_back(i);
  return out;
}

void Dataset::read_sample(std::int64_t i, float* dst) const {
  CMT_CHECK(i >= 0 && i < impl_->n, impl_->path << ": sample " << i << " out of range [0, " << impl_->n << ")");
  const std::int64_t per = impl_->shape.numel();
  Lock lock(hdf5_mutex());
  impl_->scratch.resize(static_cast<std::size_t>(per));
  h5::read_row(impl_->images, static_cast<hsize_t>(i), sample_dims(impl_->shape), H5T_NATIVE_UINT16, impl_->scratch.data());
  for (std::int64_t k = 0; k < per; ++k) dst[k] = static_cast<float>(impl_->scratch[static_cast<std::size_t>(k)]) * kScale;
}

DatasetWriter::DatasetWriter(const std::string& path, const std::string& modality, const std::vector<std::string>& class_names,
                             Shape sample_shape, int compression_level, bool with_masks)
    : path_(path),
      tmp_(path + ".tmp-" + std::to_string(::getpid())),
      shape_(sample_shape),
      class_names_(class_names),
      modality_(modality) {
  CMT_CHECK(sample_shape.rank() == 3 && sample_shape.numel() > 0, path << ": bad sample shape " << sample_shape.str());
  Lock lock(hdf5_mutex());
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  errno = 0;
  const hid_t f = H5Fcreate(tmp_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  CMT_CHECK(f >= 0, tmp_ << ": cannot create the dataset file (" << (errno ? std::strerror(errno) : "HDF5 refused it") << ")");
  file_ = f;
  images_ = h5::create_rows(f, "images", H5T_STD_U16LE, sample_dims(shape_), compression_level);
  // Masks are mostly zeros: compressed even when the images are not.
  if (with_masks) masks_ = h5::create_rows(f, "masks", H5T_STD_U8LE, sample_dims(shape_), std::max(compression_level, 1));
}

DatasetWriter::~DatasetWriter() {
  Lock lock(hdf5_mutex());
  if (masks_ >= 0) H5Dclose(masks_);
  if (images_ >= 0) H5Dclose(images_);
  if (file_ >= 0) H5Fclose(file_);
  if (!finished_) std::remove(tmp_.c_str());
}

void DatasetWriter::set_attribute(const std::string& name, const std::string& value) { attrs_.emplace_back(name, value); }

void DatasetWriter::add(const float* sample, const SampleMeta& meta, const std::uint8_t* mask) {
  CMT_CHECK(!finished_, path_ << ": add() after finish()");
  CMT_CHECK(meta.label >= 0 && meta.label < static_cast<std::int32_t>(class_names_.size()),
            path_ << ": label " << meta.label << " outside the " << class_names_.size() << " classes");
  CMT_CHECK(!mask || masks_ >= 0, path_ << ": a mask for a dataset opened without masks");
  const std::int64_t per = shape_.numel();
  std::vector<std::uint16_t> q(static_cast<std::size_t>(per));
  for (std::int64_t k = 0; k < per; ++k) {
    const float v = std::min(1.f, std::max(0.f, sample[k]));
    q[static_cast<std::size_t>(k)] = static_cast<std::uint16_t>(v * 65535.f + 0.5f);
  }
  std::vector<std::uint8_t> m(masks_ >= 0 ? static_cast<std::size_t>(per) : 0, 0);
  std::int64_t voxels = 0;
  for (std::size_t k = 0; mask && k < m.size(); ++k) {
    CMT_CHECK(mask[k] <= 1, path_ << ": mask value " << int{mask[k]} << " is not 0 or 1");
    m[k] = mask[k];
    voxels += mask[k];
  }
  Lock lock(hdf5_mutex());
  try {
    const hsize_t row = meta_.size();
    h5::append_row(images_, row, sample_dims(shape_), H5T_NATIVE_UINT16, q.data());
    if (masks_ >= 0) h5::append_row(masks_, row, sample_dims(shape_), H5T_NATIVE_UINT8, m.data());
  } catch (const Error& e) {
    fail(e);
  }
  meta_.push_back(meta);
  has_mask_.push_back(mask ? 1 : 0);
  mask_voxels_.push_back(voxels);
}

// A failed write (a full disk, a file-size limit, the folder gone): the temporary file is closed
// and deleted, and the error names the dataset and HDF5's innermost reason (the system's errno).
void DatasetWriter::fail(const Error& e) {
  const int cause = errno;  // set by the failed write() under HDF5
  const hid_t images = images_, masks = masks_, file = file_;
  images_ = masks_ = file_ = -1;  // never closed twice, here or in the destructor
  // Emptied first: on a full disk this frees the space HDF5 needs to close the file, and the space
  // comes back even where the close fails and HDF5 keeps the file open.
  [[maybe_unused]] const int emptied = ::truncate(tmp_.c_str(), 0);
  if (masks >= 0) H5Dclose(masks);
  if (images >= 0) H5Dclose(images);
  if (file >= 0) H5Fclose(file);
  H5Eclear2(H5E_DEFAULT);
  std::remove(tmp_.c_str());
  CMT_THROW(path_ << ": cannot write the dataset (" << (cause ? std::strerror(cause) : "HDF5 write error")
                  << "); nothing was written under this name. Detail: " << e.what());
}

void DatasetWriter::finish(int num_folds, std::uint64_t fold_seed) {
  CMT_CHECK(!finished_, path_ << ": finish() called twice");
  std::vector<std::int32_t> labels;
  std::vector<std::string> patients, sources;
  std::vector<double> spacing;
  std::vector<std::int32_t> shapes;
  for (const auto& m : meta_) {
    labels.push_back(m.label);
    patients.push_back(m.patient_id);
    sources.push_back(m.source_path);
    spacing.insert(spacing.end(), m.spacing.begin(), m.spacing.end());
    shapes.insert(shapes.end(), m.original_shape.begin(), m.original_shape.end());
  }
  const std::vector<std::int32_t> folds = stratified_patient_folds(labels, patients, num_folds, fold_seed);
  {
    Lock lock(hdf5_mutex());
    CMT_CHECK(file_ >= 0, path_ << ": finish() after a failed write");
    try {
      write_index(labels, folds, patients, sources, spacing, shapes, num_folds, fold_seed);
    } catch (const Error& e) {
      fail(e);
    }
  }
  std::filesystem::rename(tmp_, path_);  // atomic on one file system: readers see all or nothing
  hdf5_guard::trust_written(path_);
  finished_ = true;
}

void DatasetWriter::write_index(const std::vector<std::int32_t>& labels, const std::vector<std::int32_t>& folds,
                                const std::vector<std::string>& patients, const std::vector<std::string>& sources,
                                const std::vector<double>& spacing, const std::vector<std::int32_t>& shapes, int num_folds,
                                std::uint64_t fold_seed) {
  {
    const hid_t f = file_;
    const hsize_t n = meta_.size();
    const bool masks_written = masks_ >= 0;
    h5::write_array(f, "labels", H5T_NATIVE_INT32, {n}, labels.data());
    h5::write_array(f, "folds", H5T_NATIVE_INT32, {n}, folds.data());
    h5::write_array(f, "spacing", H5T_NATIVE_DOUBLE, {n, 3}, spacing.data());
    h5::write_array(f, "original_shape", H5T_NATIVE_INT32, {n, 3}, shapes.data());
    h5::write_strings(f, "patient_ids", patients);
    h5::write_strings(f, "source_paths", sources);
    h5::write_strings(f, "class_names", class_names_);
    if (masks_ >= 0) {
      h5::write_array(f, "has_mask", H5T_NATIVE_UINT8, {n}, has_mask_.data());
      h5::write_array(f, "mask_voxels", H5T_NATIVE_INT64, {n}, mask_voxels_.data());
      const hid_t masks = masks_;
      masks_ = -1;
      H5_CHECK(H5Dclose(masks));
    }
    h5::write_string_attr(f, "format", kFormat);
    h5::write_int_attr(f, "version", masks_written ? kVersionWithMasks : kVersion);
    h5::write_string_attr(f, "modality", modality_);
    h5::write_int_attr(f, "num_folds", num_folds);
    h5::write_int_attr(f, "fold_seed", static_cast<long long>(fold_seed));
    for (const auto& [k, v] : attrs_) h5::write_string_attr(f, k, v);
    const hid_t images = images_;
    images_ = -1;
    H5_CHECK(H5Dclose(images));
    H5_CHECK(H5Fflush(file_, H5F_SCOPE_GLOBAL));  // a full disk fails here, while the file can still be closed
    const hid_t file = file_;
    file_ = -1;
    H5_CHECK(H5Fclose(file));
  }
}

}  // namespace cmt::data
