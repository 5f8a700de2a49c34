// Reports the data-path library versions.
#include "data/library_info.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <jpeglib.h>
#include <png.h>

namespace cmt::data {

std::vector<NamedValue> library_versions() {
  return {
      {"DCMTK", OFFIS_DCMTK_VERSION_STRING},
      {"libpng", png_get_libpng_ver(nullptr)},
      {"libjpeg", std::to_string(JPEG_LIB_VERSION / 10) + "." + std::to_string(JPEG_LIB_VERSION % 10)},
  };
}

}  // namespace cmt::data
