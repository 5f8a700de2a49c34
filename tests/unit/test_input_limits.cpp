// Size limits on inputs (data/input_limits.h): headers that claim huge images, and volumes of too
// many slices, are refused with the file named, before the pixels are allocated or read.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

#include <filesystem>
#include <fstream>

#include "data/dicom.h"
#include "data/image_io.h"
#include "data/ingest.h"
#include "data/input_limits.h"
#include "data/png_write.h"
#include "support/testing.h"

namespace fs = std::filesystem;

namespace cmt::data {

namespace {

fs::path scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("cmt-limits-" + name + "-" + std::to_string(test::run_seed()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }

void put_be32(std::string& s, std::size_t at, std::uint32_t v) {
  for (int k = 0; k < 4; ++k) s[at + k] = static_cast<char>((v >> (24 - 8 * k)) & 0xFF);
}

std::uint32_t crc32(const std::string& s, std::size_t from, std::size_t n) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = from; i < from + n; ++i) {
    c ^= static_cast<unsigned char>(s[i]);
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

// The error message of `f`, or "" when it did not throw.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

DicomWriteInfo ct_info() {
  DicomWriteInfo info;
  info.patient_id = "P1";
  info.study_uid = uid_from_bits(1, 2);
  info.series_uid = uid_from_bits(1, 3);
  info.sop_uid = uid_from_bits(1, 4);
  info.frame_of_reference_uid = uid_from_bits(1, 5);
  return info;
}

}  // namespace

TEST_CASE("input_limits: a PNG header of 60000 x 60000 is refused before its pixels are read") {
  const fs::path dir = scratch("png");
  write_png((dir / "small.png").string(), 4, 4, 1, std::vector<std::uint8_t>(16, 7));
  std::string png = read_bytes(dir / "small.png");
  // IHDR is the first chunk: length (4), "IHDR" (4), width, height, ..., CRC over type and data.
  REQUIRE(png.substr(12, 4) == "IHDR");
  put_be32(png, 16, 60000);
  put_be32(png, 20, 60000);
  put_be32(png, 29, crc32(png, 12, 17));
  const fs::path huge = dir / "huge.png";
  write_bytes(huge, png);
  const std::string msg = error_of([&] { read_image(huge.string()); });
  CHECK(msg.find(huge.string()) != std::string::npos);
  CHECK(msg.find("60000 x 60000") != std::string::npos);
  CHECK(msg.find("CMT_MAX_IMAGE_PIXELS") != std::string::npos);
  CHECK(read_image((dir / "small.png").string()).numel() == 16);  // the untouched file still reads
  fs::remove_all(dir);
}

TEST_CASE("input_limits: a JPEG frame header of 60000 x 60000 is refused") {
  const fs::path dir = scratch("jpeg");
  write_jpeg_grey((dir / "small.jpg").string(), 8, 8, std::vector<std::uint8_t>(64, 100), 90);
  std::string jpg = read_bytes(dir / "small.jpg");
  const std::size_t sof = jpg.find("\xFF\xC0");  // baseline frame header: FFC0 len(2) precision(1) height(2) width(2)
  REQUIRE(sof != std::string::npos);
  for (std::size_t at : {sof + 5, sof + 7}) {
    jpg[at] = static_cast<char>(60000 >> 8);
    jpg[at + 1] = static_cast<char>(60000 & 0xFF);
  }
  const fs::path huge = dir / "huge.jpg";
  write_bytes(huge, jpg);
  const std::string msg = error_of([&] { read_image(huge.string()); });
  CHECK(msg.find(huge.string()) != std::string::npos);
  CHECK(msg.find("60000 x 60000") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("input_limits: DICOM headers that claim gigabytes are refused, naming the file") {
  const fs::path dir = scratch("dicom");
  const fs::path small = dir / "small.dcm";
  write_ct_slice(small.string(), ct_info(), 2, 2, std::vector<float>(4, 0.f).data());
  const auto rewrite = [&](const char* name, auto&& edit) {
    DcmFileFormat ff;
    REQUIRE(ff.loadFile(small.c_str()).good());
    edit(ff.getDataset());
    const fs::path out = dir / name;
    REQUIRE(ff.saveFile(out.c_str(), EXS_LittleEndianExplicit).good());
    return out;
  };
  // 65535 x 65535 16-bit pixels: 8 GiB claimed by a file of a few hundred bytes.
  const fs::path wide = rewrite("wide.dcm", [](DcmDataset* ds) {
    ds->putAndInsertUint16(DCM_Rows, 65535);
    ds->putAndInsertUint16(DCM_Columns, 65535);
  });
  std::string msg = error_of([&] { read_dicom(wide.string(), true); });
  CHECK(msg.find(wide.string()) != std::string::npos);
  CHECK(msg.find("65535 x 65535") != std::string::npos);
  // A million frames of 2 x 2.
  const fs::path frames = rewrite("frames.dcm", [](DcmDataset* ds) { ds->putAndInsertString(DCM_NumberOfFrames, "1000000"); });
  msg = error_of([&] { read_dicom(frames.string(), false); });
  CHECK(msg.find(frames.string()) != std::string::npos);
  CHECK(msg.find("1000000 frames") != std::string::npos);
  // A PixelData element whose length field claims ~2 GiB.
  std::string bytes = read_bytes(small);
  const std::size_t at = bytes.rfind(std::string("\xE0\x7F\x10\x00OW\0\0", 8));
  REQUIRE(at != std::string::npos);
  for (int k = 0; k < 4; ++k) bytes[at + 8 + k] = k == 3 ? '\x7F' : '\xF0';
  const fs::path claims = dir / "claims.dcm";
  write_bytes(claims, bytes);
  msg = error_of([&] { read_dicom(claims.string(), true); });
  CHECK(msg.find(claims.string()) != std::string::npos);
  CHECK(read_dicom(small.string(), true).pixels.size() == 4);
  fs::remove_all(dir);
}

TEST_CASE("input_limits: a series of 10,000 tiny slices is refused before any slice is decoded") {
  const fs::path dir = scratch("series");
  DicomWriteInfo info = ct_info();
  const std::vector<float> hu(1, -500.f);
  for (int z = 0; z < 10000; ++z) {
    info.sop_uid = uid_from_bits(7, static_cast<std::uint64_t>(z));
    info.instance_number = z + 1;
    info.position = {0.0, 0.0, 0.5 * z};
    write_ct_slice((dir / ("IM" + std::to_string(z) + ".dcm")).string(), info, 1, 1, hu.data());
  }
  const Discovery d = discover_scans(dir.string(), "ct");
  REQUIRE(d.items.size() == 1);
  REQUIRE(d.items[0].files.size() == 10000);
  bool hu_values = false;
  const std::string msg = error_of([&] { load_item(d.items[0], "ct", hu_values); });
  CHECK(msg.find(dir.string()) != std::string::npos);
  CHECK(msg.find("10000 slices") != std::string::npos);
  CHECK(msg.find("CMT_MAX_SLICES") != std::string::npos);
  fs::remove_all(dir);
}

}  // namespace cmt::data
