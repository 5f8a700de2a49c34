// Small RAII and string helpers over the HDF5 C API, shared by the dataset reader and writer.
#pragma once
#include <hdf5.h>

#include <mutex>
#include <string>
#include <vector>

#include "engine/check.h"

namespace cmt::data::h5 {

// Owns one HDF5 identifier and closes it with the matching H5*close.
class Id {
 public:
  using Closer = herr_t (*)(hid_t);
  Id() = default;
  Id(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  ~Id() { reset(); }
  Id(Id&& o) noexcept : id_(o.id_), closer_(o.closer_) { o.id_ = -1; }
  Id& operator=(Id&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      closer_ = o.closer_;
      o.id_ = -1;
    }
    return *this;
  }
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }  // NOLINT: used directly in H5 calls
  void reset() {
    if (id_ >= 0 && closer_) closer_(id_);
    id_ = -1;
  }

 private:
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

// Debian's HDF5 is the serial, not thread-safe build: every HDF5 call of cmt holds this lock (the
// HDF5 guard's, engine/hdf5_guard.h: its forks wait for it).
std::recursive_mutex& library_mutex();

// Opens an existing HDF5 file read-only; `what` names it in the errors ("no such dataset file").
// The caller holds library_mutex().
Id open_read_only(const std::string& path, const std::string& what);

void write_strings(hid_t loc, const std::string& name, const std::vector<std::string>& values);
std::vector<std::string> read_strings(hid_t loc, const std::string& name);
void write_string_attr(hid_t loc, const std::string& name, const std::string& value);
std::string read_string_attr(hid_t loc, const std::string& name);
void write_int_attr(hid_t loc, const std::string& name, long long value);
long long read_int_attr(hid_t loc, const std::string& name);
// A 1D or 2D dataset of a native type (H5T_NATIVE_INT, H5T_NATIVE_DOUBLE, ...).
void write_array(hid_t loc, const std::string& name, hid_t type, const std::vector<hsize_t>& dims, const void* data);
std::vector<hsize_t> dims_of(hid_t dataset);
// Row `row` of a dataset of rank 1 + sample_dims (e.g. one (D, H, W) sample of (N, D, H, W)) into `dst`.
void read_row(hid_t dataset, hsize_t row, const std::vector<hsize_t>& sample_dims, hid_t mem_type, void* dst);
// An extendible dataset of rows shaped `sample_dims`, one row per chunk, gzip `level` (0 = none)
// with the shuffle filter; append_row() writes the next row.
hid_t create_rows(hid_t loc, const std::string& name, hid_t file_type, const std::vector<hsize_t>& sample_dims, int level);
void append_row(hid_t dataset, hsize_t row, const std::vector<hsize_t>& sample_dims, hid_t mem_type, const void* src);

}  // namespace cmt::data::h5
