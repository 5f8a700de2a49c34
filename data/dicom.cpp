// DICOM through DCMTK: reading (any transfer syntax DCMTK decodes), series assembly and writing.
#include "data/dicom.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "data/dicom_log.h"
#include "data/input_limits.h"
#include "kernels/common/check.h"

namespace cmt::data {

static_assert(std::endian::native == std::endian::little, "DICOM pixel decoding assumes a little-endian host");

namespace {

void register_codecs() {
  static std::once_flag once;
  std::call_once(once, [] {
    ensure_dicom_log_configured();
    DJDecoderRegistration::registerCodecs();
    DJLSDecoderRegistration::registerCodecs();
    DcmRLEDecoderRegistration::registerCodecs();
  });
}

std::string get_string(DcmItem* ds, const DcmTagKey& tag) {
  OFString s;
  if (ds->findAndGetOFStringArray(tag, s).good()) return std::string(s.c_str());
  return {};
}

int get_int(DcmItem* ds, const DcmTagKey& tag, int fallback) {
  Uint16 u;
  if (ds->findAndGetUint16(tag, u).good()) return u;
  const std::string s = get_string(ds, tag);
  if (!s.empty()) {
    try {
      return std::stoi(s);
    } catch (const std::exception&) {
    }
  }
  return fallback;
}

double get_double(DcmItem* ds, const DcmTagKey& tag, double fallback, unsigned long pos = 0) {
  Float64 v;
  if (ds->findAndGetFloat64(tag, v, pos).good()) return v;
  return fallback;
}

// Raw little-endian pixel bytes of the (decompressed) PixelData element.
std::vector<std::uint8_t> pixel_bytes(DcmDataset* ds, const std::string& path) {
  DcmElement* el = nullptr;
  CMT_CHECK(ds->findAndGetElement(DCM_PixelData, el).good() && el != nullptr,
            path << ": no pixel data (not an image: SOP class " << get_string(ds, DCM_SOPClassUID) << ", modality '"
                 << get_string(ds, DCM_Modality) << "')");
  const Uint32 length = el->getLength();
  // Uncompressed pixel data is read from the file itself: a length beyond the file's size is a
  // corrupt header, refused before DCMTK allocates that much.
  const DcmXfer xfer(ds->getOriginalXfer());
  if (!xfer.isEncapsulated() && xfer.getStreamCompression() == ESC_none) {
    const std::uintmax_t file_bytes = std::filesystem::file_size(path);
    CMT_CHECK(length <= file_bytes, path << ": the pixel data claims " << length << " bytes, more than the file's " << file_bytes
                                         << " (truncated or corrupt)");
  }
  std::vector<std::uint8_t> out(length);
  if (length == 0) return out;
  Uint8* b = nullptr;
  if (el->getUint8Array(b).good() && b != nullptr) {
    std::memcpy(out.data(), b, length);
    return out;
  }
  Uint16* w = nullptr;  // OW: words in host (little-endian) order are the little-endian byte stream
  CMT_CHECK(el->getUint16Array(w).good() && w != nullptr, path << ": cannot access the pixel data");
  std::memcpy(out.data(), w, length);
  return out;
}

float sample_at(const std::uint8_t* p, int bytes, int bits_stored, bool is_signed) {
  std::uint32_t raw = 0;
  for (int k = 0; k < bytes; ++k) raw |= static_cast<std::uint32_t>(p[k]) << (8 * k);
  if (is_signed) {
    const int bits = std::min(bits_stored, 8 * bytes);
    const std::uint32_t mask = bits >= 32 ? 0xFFFFFFFFu : ((1u << bits) - 1u);
    raw &= mask;
    std::int64_t value = raw;
    if (bits < 64 && (raw >> (bits - 1)) & 1u) value -= (std::int64_t{1} << bits);
    return static_cast<float>(value);
  }
  return static_cast<float>(raw);
}

void decode_pixels(DcmDataset* ds, DicomImage& im) {
  const E_TransferSyntax xfer = ds->getOriginalXfer();
  if (DcmXfer(xfer).isEncapsulated()) {
    OFCondition c = ds->chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
    CMT_CHECK(c.good() && ds->canWriteXfer(EXS_LittleEndianExplicit),
              im.path << ": cannot decompress transfer syntax " << im.transfer_syntax << " (" << c.text() << ")");
    im.photometric = get_string(ds, DCM_PhotometricInterpretation);  // the decoder may convert YBR to RGB
  }
  CMT_CHECK(im.bits_allocated == 8 || im.bits_allocated == 16 || im.bits_allocated == 32,
            im.path << ": unsupported BitsAllocated " << im.bits_allocated);
  const std::vector<std::uint8_t> bytes = pixel_bytes(ds, im.path);
  const int bpp = im.bits_allocated / 8;
  const std::size_t plane = static_cast<std::size_t>(im.rows) * im.cols;
  const std::size_t samples = plane * im.frames * im.samples_per_pixel;
  CMT_CHECK(bytes.size() >= samples * bpp, im.path << ": truncated pixel data: " << bytes.size() << " bytes, expected "
                                                   << samples * bpp << " for " << im.frames << " frame(s) of " << im.rows
                                                   << "x" << im.cols << "x" << im.samples_per_pixel << " at "
                                                   << im.bits_allocated << " bits");
  const bool is_signed = im.pixel_representation == 1;
  const int planar = get_int(ds, DCM_PlanarConfiguration, 0);
  const bool ybr = im.photometric.rfind("YBR", 0) == 0;
  im.pixels.resize(plane * im.frames);
  for (int f = 0; f < im.frames; ++f) {
    const std::uint8_t* frame = bytes.data() + static_cast<std::size_t>(f) * plane * im.samples_per_pixel * bpp;
    for (std::size_t i = 0; i < plane; ++i) {
      float v;
      if (im.samples_per_pixel == 1) {
        v = sample_at(frame + i * bpp, bpp, im.bits_stored, is_signed);
      } else {
        float c[3];
        for (int k = 0; k < 3; ++k) {
          const std::size_t at = planar == 1 ? k * plane + i : i * im.samples_per_pixel + k;
          c[k] = sample_at(frame + at * bpp, bpp, im.bits_stored, is_signed);
        }
        v = ybr ? c[0] : 0.299f * c[0] + 0.587f * c[1] + 0.114f * c[2];  // Y of YCbCr is already the luma
      }
      im.pixels[static_cast<std::size_t>(f) * plane + i] = static_cast<float>(v * im.slope + im.intercept);
    }
  }
  if (im.photometric == "MONOCHROME1") {
    const auto [mn, mx] = std::minmax_element(im.pixels.begin(), im.pixels.end());
    const float sum = *mn + *mx;
    for (float& p : im.pixels) p = sum - p;
  }
}

std::string write_tmp_name(const std::string& path) { return path + ".tmp"; }

void put(DcmDataset* ds, const DcmTagKey& tag, const std::string& value, const std::string& path) {
  CMT_CHECK(ds->putAndInsertString(tag, value.c_str()).good(), path << ": cannot set DICOM tag " << DcmTag(tag).getTagName());
}

std::string join3(const std::array<double, 3>& v) {
  std::ostringstream os;
  os.precision(10);
  os << v[0] << "\\" << v[1] << "\\" << v[2];
  return os.str();
}

// The tags every object of ours carries, then the pixels, then an atomic save.
void save_image(const std::string& path, DcmFileFormat& ff, const DicomWriteInfo& info, int rows, int cols,
                const std::vector<Uint16>& stored) {
  DcmDataset* ds = ff.getDataset();
  put(ds, DCM_SpecificCharacterSet, "ISO_IR 100", path);
  put(ds, DCM_SOPInstanceUID, info.sop_uid, path);
  put(ds, DCM_StudyInstanceUID, info.study_uid, path);
  put(ds, DCM_SeriesInstanceUID, info.series_uid, path);
  put(ds, DCM_PatientID, info.patient_id, path);
  put(ds, DCM_PatientName, info.patient_name, path);
  put(ds, DCM_SeriesDescription, info.description, path);
  put(ds, DCM_Manufacturer, "cmt synth (phantom)", path);
  put(ds, DCM_InstanceNumber, std::to_string(info.instance_number), path);
  put(ds, DCM_SeriesNumber, "1", path);
  // Patient and General Study: Type 2 attributes present, most of them empty; a fixed study date
  // keeps the phantoms byte-identical for a seed.
  put(ds, DCM_PatientBirthDate, "", path);
  put(ds, DCM_PatientSex, "O", path);
  put(ds, DCM_StudyDate, "20200101", path);
  put(ds, DCM_StudyTime, "120000", path);
  put(ds, DCM_ReferringPhysicianName, "", path);
  put(ds, DCM_StudyID, "1", path);
  put(ds, DCM_AccessionNumber, "", path);
  put(ds, DCM_SamplesPerPixel, "1", path);
  CMT_CHECK(ds->putAndInsertUint16(DCM_SamplesPerPixel, 1).good() && ds->putAndInsertUint16(DCM_Rows, static_cast<Uint16>(rows)).good() &&
                ds->putAndInsertUint16(DCM_Columns, static_cast<Uint16>(cols)).good() &&
                ds->putAndInsertUint16(DCM_BitsAllocated, 16).good() && ds->putAndInsertUint16(DCM_BitsStored, 12).good() &&
                ds->putAndInsertUint16(DCM_HighBit, 11).good() && ds->putAndInsertUint16(DCM_PixelRepresentation, 0).good(),
            path << ": cannot set the image pixel module");
  put(ds, DCM_PhotometricInterpretation, "MONOCHROME2", path);
  std::ostringstream spacing;
  spacing.precision(10);
  spacing << info.pixel_spacing[0] << "\\" << info.pixel_spacing[1];
  put(ds, DCM_PixelSpacing, spacing.str(), path);
  CMT_CHECK(ds->putAndInsertUint16Array(DCM_PixelData, stored.data(), static_cast<unsigned long>(stored.size())).good(),
            path << ": cannot set the pixel data");
  const std::string tmp = write_tmp_name(path);
  const OFCondition c = ff.saveFile(tmp.c_str(), EXS_LittleEndianExplicit);
  if (c.bad()) {
    std::remove(tmp.c_str());
    CMT_THROW(path << ": cannot write DICOM (" << c.text() << ")");
  }
  std::filesystem::rename(tmp, path);
}

// One coded entry (CodeValue, CodingSchemeDesignator, CodeMeaning) as the only item of a sequence.
void put_code(DcmDataset* ds, const DcmTagKey& sequence, const char* value, const char* scheme, const char* meaning,
              const std::string& path) {
  DcmItem* item = nullptr;
  CMT_CHECK(ds->findOrCreateSequenceItem(sequence, item, -2).good() && item != nullptr,
            path << ": cannot create DICOM sequence " << DcmTag(sequence).getTagName());
  CMT_CHECK(item->putAndInsertString(DCM_CodeValue, value).good() &&
                item->putAndInsertString(DCM_CodingSchemeDesignator, scheme).good() &&
                item->putAndInsertString(DCM_CodeMeaning, meaning).good(),
            path << ": cannot set a code in " << DcmTag(sequence).getTagName());
}

// The DX Image, DX Anatomy Imaged, DX Detector and DX Positioning modules of a PA chest
// radiograph for presentation: linear, unscaled stored values, windowed over the 12 bits.
void put_dx_modules(DcmDataset* ds, const DicomWriteInfo& info, const std::string& path) {
  put(ds, DCM_PatientOrientation, "L\\F", path);  // PA: rows run to the patient's left, columns to the feet
  put(ds, DCM_ImageLaterality, "U", path);
  put_code(ds, DCM_AnatomicRegionSequence, "43799004", "SCT", "Chest", path);
  put_code(ds, DCM_ViewCodeSequence, "399348003", "SCT", "postero-anterior", path);
  put(ds, DCM_PixelIntensityRelationship, "LIN", path);
  CMT_CHECK(ds->putAndInsertSint16(DCM_PixelIntensityRelationshipSign, 1).good(),
            path << ": cannot set PixelIntensityRelationshipSign");
  put(ds, DCM_RescaleIntercept, "0", path);
  put(ds, DCM_RescaleSlope, "1", path);
  put(ds, DCM_RescaleType, "US", path);
  put(ds, DCM_PresentationLUTShape, "IDENTITY", path);
  put(ds, DCM_LossyImageCompression, "00", path);
  put(ds, DCM_BurnedInAnnotation, "NO", path);
  put(ds, DCM_WindowCenter, "2048", path);
  put(ds, DCM_WindowWidth, "4096", path);
  put(ds, DCM_DetectorType, "", path);
  std::ostringstream spacing;
  spacing.precision(10);
  spacing << info.pixel_spacing[0] << "\\" << info.pixel_spacing[1];
  put(ds, DCM_ImagerPixelSpacing, spacing.str(), path);
  put(ds, DCM_PositionerType, "", path);
  CMT_CHECK(ds->insertEmptyElement(DCM_AcquisitionContextSequence).good(), path << ": cannot set AcquisitionContextSequence");
}

}  // namespace

bool looks_like_dicom(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char buf[132] = {};
  if (f.read(buf, 132) && std::memcmp(buf + 128, "DICM", 4) == 0) return true;
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return ext == ".dcm" || ext == ".dicom";
}

DicomImage read_dicom(const std::string& path, bool pixels) {
  register_codecs();
  CMT_CHECK(std::filesystem::is_regular_file(path), path << ": no such file");
  DcmFileFormat ff;
  const OFCondition c = ff.loadFile(path.c_str(), EXS_Unknown, EGL_noChange, pixels ? DCM_MaxReadLength : 4096);
  CMT_CHECK(c.good(), path << ": not a readable DICOM file (" << c.text() << "; truncated or corrupt?)");
  DcmDataset* ds = ff.getDataset();
  DicomImage im;
  im.path = path;
  im.modality = get_string(ds, DCM_Modality);
  im.patient_id = get_string(ds, DCM_PatientID);
  im.study_uid = get_string(ds, DCM_StudyInstanceUID);
  im.series_uid = get_string(ds, DCM_SeriesInstanceUID);
  im.sop_class_uid = get_string(ds, DCM_SOPClassUID);
  im.photometric = get_string(ds, DCM_PhotometricInterpretation);
  im.transfer_syntax = DcmXfer(ds->getOriginalXfer()).getXferName();
  CMT_CHECK(ds->tagExists(DCM_PixelData), path << ": no pixel data (not an image: SOP class " << im.sop_class_uid
                                                << ", modality '" << im.modality << "')");
  im.rows = get_int(ds, DCM_Rows, 0);
  im.cols = get_int(ds, DCM_Columns, 0);
  CMT_CHECK(im.rows > 0 && im.cols > 0, path << ": missing or zero Rows/Columns");
  im.frames = std::max(1, get_int(ds, DCM_NumberOfFrames, 1));
  check_image_size(path, "DICOM header", static_cast<std::uint64_t>(im.rows), static_cast<std::uint64_t>(im.cols),
                   static_cast<std::uint64_t>(im.frames));
  im.samples_per_pixel = get_int(ds, DCM_SamplesPerPixel, 1);
  CMT_CHECK(im.samples_per_pixel == 1 || im.samples_per_pixel == 3,
            path << ": unsupported SamplesPerPixel " << im.samples_per_pixel);
  im.bits_allocated = get_int(ds, DCM_BitsAllocated, 16);
  im.bits_stored = get_int(ds, DCM_BitsStored, im.bits_allocated);
  im.pixel_representation = get_int(ds, DCM_PixelRepresentation, 0);
  im.slope = get_double(ds, DCM_RescaleSlope, 1.0);
  im.intercept = get_double(ds, DCM_RescaleIntercept, 0.0);
  if (im.slope == 0.0) im.slope = 1.0;  // a zero slope is a writer's error; DCMTK's own viewer does the same
  im.has_position = ds->tagExists(DCM_ImagePositionPatient);
  for (unsigned long k = 0; k < 3; ++k) im.position[k] = get_double(ds, DCM_ImagePositionPatient, 0.0, k);
  if (ds->tagExists(DCM_ImageOrientationPatient))
    for (unsigned long k = 0; k < 6; ++k) im.orientation[k] = get_double(ds, DCM_ImageOrientationPatient, im.orientation[k], k);
  const DcmTagKey spacing_tag = ds->tagExists(DCM_PixelSpacing) ? DCM_PixelSpacing : DCM_ImagerPixelSpacing;
  for (unsigned long k = 0; k < 2; ++k) im.pixel_spacing[k] = get_double(ds, spacing_tag, 1.0, k);
  im.slice_thickness = get_double(ds, DCM_SliceThickness, 0.0);
  im.instance_number = get_int(ds, DCM_InstanceNumber, 0);
  if (pixels) decode_pixels(ds, im);
  return im;
}

std::array<double, 3> slice_normal(const std::array<double, 6>& o) {
  return {o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]};
}

Volume assemble_series(const std::vector<std::string>& files) {
  CMT_CHECK(!files.empty(), "assemble_series: no files");
  check_slice_count(std::filesystem::path(files.front()).parent_path().string(), files.size());
  std::vector<DicomImage> slices;
  slices.reserve(files.size());
  for (const auto& f : files) slices.push_back(read_dicom(f, true));
  const DicomImage& first = slices.front();
  const auto normal = slice_normal(first.orientation);
  std::vector<std::pair<double, std::size_t>> order;
  for (std::size_t i = 0; i < slices.size(); ++i) {
    const DicomImage& s = slices[i];
    CMT_CHECK(s.series_uid == first.series_uid,
              s.path << ": series " << s.series_uid << " differs from " << first.series_uid << " of " << first.path);
    CMT_CHECK(s.rows == first.rows && s.cols == first.cols && s.frames == 1,
              s.path << ": inconsistent slice size " << s.rows << "x" << s.cols << "x" << s.frames << " in series "
                     << first.series_uid << " (first slice " << first.rows << "x" << first.cols << ")");
    CMT_CHECK(s.has_position || slices.size() == 1, s.path << ": no ImagePositionPatient, cannot order the series");
    const double along = s.position[0] * normal[0] + s.position[1] * normal[1] + s.position[2] * normal[2];
    order.emplace_back(along, i);
  }
  std::sort(order.begin(), order.end());
  std::vector<double> steps;
  for (std::size_t i = 1; i < order.size(); ++i) {
    const double step = order[i].first - order[i - 1].first;
    CMT_CHECK(step > 1e-4, slices[order[i].second].path << ": duplicate slice position (same as "
                                                        << slices[order[i - 1].second].path << ") in series " << first.series_uid);
    steps.push_back(step);
  }
  Volume v;
  v.d = static_cast<int>(slices.size());
  v.h = first.rows;
  v.w = first.cols;
  std::sort(steps.begin(), steps.end());
  const double dz = steps.empty() ? (first.slice_thickness > 0 ? first.slice_thickness : 1.0) : steps[steps.size() / 2];
  v.spacing = {dz, first.pixel_spacing[0], first.pixel_spacing[1]};
  v.spacing_known = true;
  v.v.resize(static_cast<std::size_t>(v.numel()));
  const std::size_t plane = static_cast<std::size_t>(v.h) * v.w;
  for (std::size_t z = 0; z < order.size(); ++z)
    std::copy(slices[order[z].second].pixels.begin(), slices[order[z].second].pixels.end(), v.v.begin() + static_cast<std::ptrdiff_t>(z * plane));
  return v;
}

std::string uid_from_bits(std::uint64_t hi, std::uint64_t lo) {
  char tail[24];
  std::snprintf(tail, sizeof(tail), "%018llu", static_cast<unsigned long long>(lo % 1000000000000000000ull));
  return "2.25." + std::to_string((hi >> 2) | (std::uint64_t{1} << 60)) + tail;
}

void write_ct_slice(const std::string& path, const DicomWriteInfo& info, int rows, int cols, const float* hu) {
  DcmFileFormat ff;
  DcmDataset* ds = ff.getDataset();
  put(ds, DCM_SOPClassUID, UID_CTImageStorage, path);
  put(ds, DCM_Modality, "CT", path);
  put(ds, DCM_ImageType, "ORIGINAL\\PRIMARY\\AXIAL", path);
  put(ds, DCM_ImagePositionPatient, join3(info.position), path);
  put(ds, DCM_ImageOrientationPatient, "1\\0\\0\\0\\1\\0", path);
  std::ostringstream th;
  th.precision(10);
  th << info.slice_thickness;
  put(ds, DCM_SliceThickness, th.str(), path);
  put(ds, DCM_RescaleIntercept, "-1024", path);
  put(ds, DCM_RescaleSlope, "1", path);
  put(ds, DCM_RescaleType, "HU", path);
  put(ds, DCM_WindowCenter, "-600", path);
  put(ds, DCM_WindowWidth, "1500", path);
  put(ds, DCM_KVP, "120", path);
  CMT_CHECK(!info.frame_of_reference_uid.empty(), path << ": a CT slice needs a FrameOfReferenceUID");
  put(ds, DCM_FrameOfReferenceUID, info.frame_of_reference_uid, path);
  put(ds, DCM_PositionReferenceIndicator, "", path);
  put(ds, DCM_AcquisitionNumber, "1", path);
  put(ds, DCM_BodyPartExamined, "CHEST", path);  // an unpaired part: Laterality is then absent
  put(ds, DCM_PatientPosition, "HFS", path);
  std::vector<Uint16> stored(static_cast<std::size_t>(rows) * cols);
  for (std::size_t i = 0; i < stored.size(); ++i)
    stored[i] = static_cast<Uint16>(std::clamp(std::lround(hu[i] + 1024.0f), 0L, 4095L));
  save_image(path, ff, info, rows, cols, stored);
}

void write_dx(const std::string& path, const DicomWriteInfo& info, int rows, int cols, const float* image) {
  DcmFileFormat ff;
  DcmDataset* ds = ff.getDataset();
  put(ds, DCM_SOPClassUID, UID_DigitalXRayImageStorageForPresentation, path);
  put(ds, DCM_Modality, "DX", path);
  put(ds, DCM_ImageType, "ORIGINAL\\PRIMARY", path);
  put(ds, DCM_PresentationIntentType, "FOR PRESENTATION", path);
  put(ds, DCM_ViewPosition, "PA", path);
  put(ds, DCM_BodyPartExamined, "CHEST", path);
  put_dx_modules(ds, info, path);
  std::vector<Uint16> stored(static_cast<std::size_t>(rows) * cols);
  for (std::size_t i = 0; i < stored.size(); ++i)
    stored[i] = static_cast<Uint16>(std::clamp(std::lround(image[i] * 4095.0f), 0L, 4095L));
  save_image(path, ff, info, rows, cols, stored);
}

}  // namespace cmt::data
