// HDF5 helpers: variable-length string datasets and attributes, small arrays.
#include "data/hdf5_util.h"

#include "engine/hdf5_guard.h"

#include <algorithm>
#include <filesystem>

namespace cmt::data::h5 {

namespace {
Id vlen_string_type() {
  Id t(H5_CHECK(H5Tcopy(H5T_C_S1)), H5Tclose);
  H5_CHECK(H5Tset_size(t, H5T_VARIABLE));
  H5_CHECK(H5Tset_cset(t, H5T_CSET_UTF8));
  return t;
}
}  // namespace

void write_strings(hid_t loc, const std::string& name, const std::vector<std::string>& values) {
  Id type = vlen_string_type();
  const hsize_t n = values.size();
  Id space(H5_CHECK(H5Screate_simple(1, &n, nullptr)), H5Sclose);
  Id ds(H5_CHECK(H5Dcreate2(loc, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)), H5Dclose);
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  if (n) H5_CHECK(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()));
}

std::vector<std::string> read_strings(hid_t loc, const std::string& name) {
  Id ds(H5_CHECK(H5Dopen2(loc, name.c_str(), H5P_DEFAULT)), H5Dclose);
  Id type = vlen_string_type();
  Id space(H5_CHECK(H5Dget_space(ds)), H5Sclose);
  const hssize_t n = H5_CHECK(H5Sget_simple_extent_npoints(space));
  // Each string takes 16 bytes in the dataset itself (length and heap reference): a count the file
  // cannot hold is a corrupt header, refused before the pointers are allocated.
  hsize_t file_bytes = 0;
  {
    Id file(H5_CHECK(H5Iget_file_id(loc)), H5Fclose);
    H5_CHECK(H5Fget_filesize(file, &file_bytes));
  }
  CMT_CHECK(static_cast<hsize_t>(n) <= file_bytes / 16,
            "/" << name << " claims " << n << " strings, more than a file of " << file_bytes << " bytes holds (corrupt?)");
  std::vector<char*> ptrs(static_cast<std::size_t>(n), nullptr);
  if (n) H5_CHECK(H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()));
  std::vector<std::string> out;
  for (char* p : ptrs) out.emplace_back(p ? p : "");
  if (n) H5Dvlen_reclaim(type, space, H5P_DEFAULT, ptrs.data());
  return out;
}

void write_string_attr(hid_t loc, const std::string& name, const std::string& value) {
  Id type = vlen_string_type();
  Id space(H5_CHECK(H5Screate(H5S_SCALAR)), H5Sclose);
  Id attr(H5_CHECK(H5Acreate2(loc, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT)), H5Aclose);
  const char* p = value.c_str();
  H5_CHECK(H5Awrite(attr, type, &p));
}

std::string read_string_attr(hid_t loc, const std::string& name) {
  Id attr(H5_CHECK(H5Aopen(loc, name.c_str(), H5P_DEFAULT)), H5Aclose);
  Id type = vlen_string_type();
  char* p = nullptr;
  H5_CHECK(H5Aread(attr, type, &p));
  std::string s = p ? p : "";
  H5free_memory(p);
  return s;
}

void write_int_attr(hid_t loc, const std::string& name, long long value) {
  Id space(H5_CHECK(H5Screate(H5S_SCALAR)), H5Sclose);
  Id attr(H5_CHECK(H5Acreate2(loc, name.c_str(), H5T_NATIVE_LLONG, space, H5P_DEFAULT, H5P_DEFAULT)), H5Aclose);
  H5_CHECK(H5Awrite(attr, H5T_NATIVE_LLONG, &value));
}

long long read_int_attr(hid_t loc, const std::string& name) {
  Id attr(H5_CHECK(H5Aopen(loc, name.c_str(), H5P_DEFAULT)), H5Aclose);
  long long v = 0;
  H5_CHECK(H5Aread(attr, H5T_NATIVE_LLONG, &v));
  return v;
}

void write_array(hid_t loc, const std::string& name, hid_t type, const std::vector<hsize_t>& dims, const void* data) {
  Id space(H5_CHECK(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr)), H5Sclose);
  Id ds(H5_CHECK(H5Dcreate2(loc, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)), H5Dclose);
  bool empty = false;
  for (hsize_t d : dims) empty = empty || d == 0;
  if (!empty) H5_CHECK(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data));
}

std::vector<hsize_t> dims_of(hid_t dataset) {
  Id space(H5_CHECK(H5Dget_space(dataset)), H5Sclose);
  const int rank = H5_CHECK(H5Sget_simple_extent_ndims(space));
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  H5_CHECK(H5Sget_simple_extent_dims(space, dims.data(), nullptr));
  return dims;
}

Id open_read_only(const std::string& path, const std::string& what) {
  CMT_CHECK(std::filesystem::is_regular_file(path), path << ": no such " << what << " file");
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  CMT_CHECK(H5Fis_hdf5(path.c_str()) > 0, path << ": not an HDF5 file (or truncated)");
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  CMT_CHECK(f >= 0, path << ": HDF5 cannot open the file");
  return Id(f, H5Fclose);
}

std::recursive_mutex& library_mutex() { return hdf5_guard::library_mutex(); }

namespace {
// (1, sample_dims...) selected at `row` of `dataset`, and the matching memory space.
struct RowSpaces {
  Id file, mem;
};
RowSpaces row_spaces(hid_t dataset, hsize_t row, const std::vector<hsize_t>& sample_dims) {
  std::vector<hsize_t> start(sample_dims.size() + 1, 0), count{1};
  start[0] = row;
  count.insert(count.end(), sample_dims.begin(), sample_dims.end());
  Id space(H5_CHECK(H5Dget_space(dataset)), H5Sclose);
  H5_CHECK(H5Sselect_hyperslab(space, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr));
  Id mem(H5_CHECK(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr)), H5Sclose);
  return {std::move(space), std::move(mem)};
}
}  // namespace

void read_row(hid_t dataset, hsize_t row, const std::vector<hsize_t>& sample_dims, hid_t mem_type, void* dst) {
  const RowSpaces s = row_spaces(dataset, row, sample_dims);
  H5_CHECK(H5Dread(dataset, mem_type, s.mem, s.file, H5P_DEFAULT, dst));
}

hid_t create_rows(hid_t loc, const std::string& name, hid_t file_type, const std::vector<hsize_t>& sample_dims, int level) {
  std::vector<hsize_t> dims{0}, maxdims{H5S_UNLIMITED}, chunk{1};
  for (hsize_t d : sample_dims) {
    dims.push_back(d);
    maxdims.push_back(d);
    chunk.push_back(d);  // one row per chunk: a read touches one chunk
  }
  const int rank = static_cast<int>(dims.size());
  Id space(H5_CHECK(H5Screate_simple(rank, dims.data(), maxdims.data())), H5Sclose);
  Id props(H5_CHECK(H5Pcreate(H5P_DATASET_CREATE)), H5Pclose);
  H5_CHECK(H5Pset_chunk(props, rank, chunk.data()));
  if (level > 0) {
    H5_CHECK(H5Pset_shuffle(props));
    H5_CHECK(H5Pset_deflate(props, static_cast<unsigned>(std::min(level, 9))));
  }
  return H5_CHECK(H5Dcreate2(loc, name.c_str(), file_type, space, H5P_DEFAULT, props, H5P_DEFAULT));
}

void append_row(hid_t dataset, hsize_t row, const std::vector<hsize_t>& sample_dims, hid_t mem_type, const void* src) {
  std::vector<hsize_t> dims{row + 1};
  dims.insert(dims.end(), sample_dims.begin(), sample_dims.end());
  H5_CHECK(H5Dset_extent(dataset, dims.data()));
  const RowSpaces s = row_spaces(dataset, row, sample_dims);
  H5_CHECK(H5Dwrite(dataset, mem_type, s.mem, s.file, H5P_DEFAULT, src));
}

}  // namespace cmt::data::h5
