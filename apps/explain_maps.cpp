#include "apps/explain_maps.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "data/hdf5_util.h"

namespace cmt::app {

namespace {

std::vector<hsize_t> dims_of(const std::array<int, 3>& s) {
  return {static_cast<hsize_t>(s[0]), static_cast<hsize_t>(s[1]), static_cast<hsize_t>(s[2])};
}

void write_file(const std::string& tmp, const std::string& source, const std::string& method,
                const std::vector<NamedExplanation>& runs) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const hid_t raw = H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  CMT_CHECK(raw >= 0, tmp << ": cannot create the map file");
  data::h5::Id file(raw, H5Fclose);
  const Explanation& first = *runs.front().explanation;
  data::h5::write_string_attr(file, "source", source);
  data::h5::write_string_attr(file, "method", method);
  data::h5::write_array(file, "image", H5T_NATIVE_FLOAT, dims_of(first.size), first.image.data());
  for (const NamedExplanation& r : runs) {
    const Explanation& e = *r.explanation;
    data::h5::write_array(file, "map" + r.suffix, H5T_NATIVE_FLOAT, dims_of(e.size), e.map.data());
    data::h5::write_array(file, "cam" + r.suffix, H5T_NATIVE_FLOAT, dims_of(e.feature_size), e.cam.data());
    data::h5::write_string_attr(file, "run" + r.suffix, r.run);
    data::h5::write_string_attr(file, "class" + r.suffix, e.target_class_name);
    data::h5::write_string_attr(file, "score" + r.suffix, std::to_string(e.score));
  }
  CMT_CHECK(H5Fflush(file, H5F_SCOPE_LOCAL) >= 0, tmp << ": cannot write the map file");
}

}  // namespace

void write_map_file(const std::string& path, const std::string& source, const std::string& method,
                    const std::vector<NamedExplanation>& runs) {
  CMT_CHECK(!runs.empty() && runs.front().explanation, "write_map_file: no maps");
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  try {
    write_file(tmp, source, method, runs);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace cmt::app
