// Dataset identity: size and header hash; resolving a run's dataset path.
#include "data/dataset_identity.h"

#include <fmt/core.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "kernels/common/check.h"

namespace fs = std::filesystem;

namespace cmt::data {

namespace {

constexpr std::size_t kHashedBytes = 64 * 1024;

std::string fnv1a_hex(const char* bytes, std::size_t n) {
  std::uint64_t h = 14695981039346656037ull;
  for (std::size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(bytes[i]);
    h *= 1099511628211ull;
  }
  return fmt::format("{:016x}", h);
}

}  // namespace

nlohmann::json DatasetIdentity::to_json() const { return {{"path", path}, {"size", size}, {"header_hash", header_hash}}; }

DatasetIdentity DatasetIdentity::from_json(const nlohmann::json& j) {
  return {j.at("path").get<std::string>(), j.at("size").get<std::uintmax_t>(), j.at("header_hash").get<std::string>()};
}

DatasetIdentity identify_dataset(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  CMT_CHECK(in, path << ": cannot open the dataset file");
  std::vector<char> head(kHashedBytes);
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  DatasetIdentity id;
  id.path = fs::absolute(path).lexically_normal().string();
  id.size = fs::file_size(path);
  id.header_hash = fnv1a_hex(head.data(), static_cast<std::size_t>(in.gcount()));
  return id;
}

std::string resolve_dataset(const std::vector<std::string>& candidates, const std::optional<DatasetIdentity>& recorded,
                            const std::string& hint) {
  std::ostringstream tried;
  for (const auto& c : candidates) {
    if (c.empty()) continue;
    if (!fs::is_regular_file(c)) {
      tried << "\n  " << c << ": no such file";
      continue;
    }
    if (!recorded) return c;
    const DatasetIdentity id = identify_dataset(c);
    if (id == *recorded) return c;
    tried << "\n  " << c << ": another file (" << id.size << " bytes, header hash " << id.header_hash << "; the run's has "
          << recorded->size << " bytes, " << recorded->header_hash << ")";
  }
  CMT_THROW("the run's dataset was not found:" << tried.str() << "\n" << hint);
}

}  // namespace cmt::data
