// The walk over an HDF5 file's structure (engine/hdf5_structure.h).
#include "engine/hdf5_structure.h"

#include <hdf5.h>

#include <exception>
#include <set>
#include <string>
#include <vector>

#include "engine/check.h"

namespace cmt::hdf5_structure {

namespace {

// Links are followed at most this deep; a corrupt file may link a group into itself.
constexpr int kMaxDepth = 32;
// Attribute values larger than this are not read (a corrupt header may claim terabytes).
constexpr hsize_t kMaxAttributeBytes = hsize_t{64} << 20;

struct Closer {
  hid_t id;
  herr_t (*close)(hid_t);
  ~Closer() {
    if (id >= 0) close(id);
  }
};

// Reads `count` values of `file_type` into memory of its native type; variable-length values
// (strings) are read through the heaps they live in and given back.
template <typename Read>
void read_values(hid_t file_type, hid_t mem_space, hsize_t count, Read&& read) {
  const Closer native{H5_CHECK(H5Tget_native_type(file_type, H5T_DIR_ASCEND)), H5Tclose};
  const std::size_t size = H5Tget_size(native.id);
  CMT_CHECK(size > 0 && count <= kMaxAttributeBytes / size, "a value of " << count << " x " << size << " bytes (corrupt?)");
  std::vector<unsigned char> buffer(static_cast<std::size_t>(count) * size);
  H5_CHECK(read(native.id, buffer.data()));
  if (H5_CHECK(H5Tdetect_class(native.id, H5T_VLEN)) > 0 || H5_CHECK(H5Tis_variable_str(native.id)) > 0)
    H5_CHECK(H5Dvlen_reclaim(native.id, mem_space, H5P_DEFAULT, buffer.data()));
}

// HDF5 calls back into C++ from C: an exception must not unwind through the library's frames. A
// callback keeps the first error here and stops the iteration; the caller throws it.
struct Walk {
  std::set<haddr_t> seen;  // object headers already visited (hard links may repeat or loop)
  int depth = 0;
  std::string error;
};

template <typename Fn>
herr_t guarded(void* data, Fn&& fn) {
  try {
    fn();
    return 0;
  } catch (const std::exception& e) {
    static_cast<Walk*>(data)->error = e.what();
    return -1;
  }
}

template <typename Iterate>
void iterate(Walk& walk, const char* what, Iterate&& call) {
  const herr_t status = call();
  if (!walk.error.empty()) throw Error(walk.error);
  if (status < 0) detail::throw_hdf5(what, __FILE__, __LINE__);
}

void read_attribute(hid_t object, const char* name) {
  const Closer attr{H5_CHECK(H5Aopen(object, name, H5P_DEFAULT)), H5Aclose};
  const Closer type{H5_CHECK(H5Aget_type(attr.id)), H5Tclose};
  const Closer space{H5_CHECK(H5Aget_space(attr.id)), H5Sclose};
  const hssize_t n = H5_CHECK(H5Sget_simple_extent_npoints(space.id));
  if (n > 0)
    read_values(type.id, space.id, static_cast<hsize_t>(n), [&](hid_t mem, void* buf) { return H5Aread(attr.id, mem, buf); });
}

herr_t visit_attribute(hid_t object, const char* name, const H5A_info_t*, void* data) {
  return guarded(data, [&] { read_attribute(object, name); });
}

// Shape, type, layout, the chunk index and the first element of a dataset.
void read_dataset(hid_t ds) {
  const Closer space{H5_CHECK(H5Dget_space(ds)), H5Sclose};
  const int rank = H5_CHECK(H5Sget_simple_extent_ndims(space.id));
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  H5_CHECK(H5Sget_simple_extent_dims(space.id, dims.data(), nullptr));
  const Closer type{H5_CHECK(H5Dget_type(ds)), H5Tclose};
  const Closer plist{H5_CHECK(H5Dget_create_plist(ds)), H5Pclose};
  H5_CHECK(H5Pget_nfilters(plist.id));
  H5Dget_storage_size(ds);
  if (H5_CHECK(H5Pget_layout(plist.id)) == H5D_CHUNKED) {
    hsize_t chunks = 0;
    H5_CHECK(H5Dget_num_chunks(ds, space.id, &chunks));  // visits every entry of the chunk index
  }
  const hssize_t n = H5_CHECK(H5Sget_simple_extent_npoints(space.id));
  if (n <= 0) return;
  if (rank > 0) {
    const std::vector<hsize_t> start(dims.size(), 0), one(dims.size(), 1);
    H5_CHECK(H5Sselect_hyperslab(space.id, H5S_SELECT_SET, start.data(), nullptr, one.data(), nullptr));
  }
  const hsize_t single = 1;
  const Closer mem{H5_CHECK(H5Screate_simple(1, &single, nullptr)), H5Sclose};
  read_values(type.id, mem.id, 1, [&](hid_t mem_type, void* buf) { return H5Dread(ds, mem_type, mem.id, space.id, H5P_DEFAULT, buf); });
}

void visit(hid_t object, Walk& walk);

herr_t visit_link(hid_t group, const char* name, const H5L_info_t* info, void* data) {
  if (info->type != H5L_TYPE_HARD) return 0;  // soft and external links lead nowhere cmt reads
  return guarded(data, [&] {
    const Closer object{H5_CHECK(H5Oopen(group, name, H5P_DEFAULT)), H5Oclose};
    visit(object.id, *static_cast<Walk*>(data));
  });
}

void visit(hid_t object, Walk& walk) {
  H5O_info_t info;
  H5_CHECK(H5Oget_info2(object, &info, H5O_INFO_BASIC));
  if (!walk.seen.insert(info.addr).second) return;
  CMT_CHECK(walk.depth < kMaxDepth, "groups nested deeper than " << kMaxDepth << " (corrupt?)");
  hsize_t attribute = 0;
  iterate(walk, "H5Aiterate2", [&] { return H5Aiterate2(object, H5_INDEX_NAME, H5_ITER_INC, &attribute, visit_attribute, &walk); });
  const H5I_type_t kind = H5Iget_type(object);
  if (kind == H5I_DATASET) read_dataset(object);
  if (kind != H5I_GROUP) return;
  ++walk.depth;
  hsize_t link = 0;
  iterate(walk, "H5Literate", [&] { return H5Literate(object, H5_INDEX_NAME, H5_ITER_INC, &link, visit_link, &walk); });
  --walk.depth;
}

}  // namespace

void read_all(const std::string& path) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  // Not HDF5, or not openable: nothing more to read here, and each reader says so in its own words.
  if (H5Fis_hdf5(path.c_str()) <= 0) return;
  const Closer file{H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose};
  if (file.id < 0) return;
  try {
    const Closer root{H5_CHECK(H5Gopen2(file.id, "/", H5P_DEFAULT)), H5Gclose};
    Walk walk;
    visit(root.id, walk);
  } catch (const Error& e) {
    CMT_THROW("corrupt structure: " << e.what());
  }
}

}  // namespace cmt::hdf5_structure
