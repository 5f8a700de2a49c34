// Input kind checks of inference (data/input_check.h): which inputs are refused, and when a fitting
// input draws a scale warning.
#include "data/input_check.h"
#include "support/testing.h"

namespace cmt::data {

namespace {

const TrainedOn kCtRun{"ct", {32, 64, 64}, true, {300.0, 300.0, 300.0}};
const TrainedOn kXrayRun{"xray", {1, 64, 64}, false, {}};

Volume volume(int d, int h, int w, std::array<double, 3> spacing, bool known) {
  Volume v;
  v.d = d, v.h = h, v.w = w;
  v.spacing = spacing;
  v.spacing_known = known;
  return v;
}

}  // namespace

TEST_CASE("input_check: another dimensionality or a known other modality is refused, naming the file and both kinds") {
  const std::string png = input_mismatch({"xray", 2, "a PNG image (2D X-ray)"}, kCtRun, "/in/chest.png");
  CHECK(png.find("/in/chest.png") != std::string::npos);
  CHECK(png.find("X-ray") != std::string::npos);
  CHECK(png.find("3D CT") != std::string::npos);
  const std::string series = input_mismatch({"ct", 2, "a single DICOM CT image (2D)"}, kXrayRun, "/in/slice1.dcm");
  CHECK(series.find("/in/slice1.dcm") != std::string::npos);
  CHECK(series.find("DICOM CT") != std::string::npos);
  CHECK(series.find("2D X-ray") != std::string::npos);
  CHECK(!input_mismatch({"", 2, "a single DICOM MR image (2D)"}, kCtRun, "mr.dcm").empty());  // 2D for 3D
  // What fits: a CT series for the CT run, a radiograph or an image of unknown modality for the X-ray run.
  CHECK(input_mismatch({"ct", 3, "a series of 40 DICOM CT slices (3D)"}, kCtRun, "scan").empty());
  CHECK(input_mismatch({"", 3, "a stack of 40 PNG slice images (3D)"}, kCtRun, "scan").empty());
  CHECK(input_mismatch({"xray", 2, "a single DICOM DX image (2D)"}, kXrayRun, "cxr.dcm").empty());
  CHECK(input_mismatch({"", 2, "a single DICOM OT image (2D)"}, kXrayRun, "cxr.dcm").empty());
}

TEST_CASE("input_check: warns beyond 2x of the model input's voxels or the training data's physical extent") {
  // 40x512x512 at 7.5 x 0.6 x 0.6 mm = 300 mm each way: fits.
  CHECK(input_warnings(volume(40, 512, 512, {7.5, 0.6, 0.6}, true), kCtRun, "ok").empty());
  // 15 slices for a 32-slice input: under half.
  const auto thin = input_warnings(volume(15, 512, 512, {20.0, 0.6, 0.6}, true), kCtRun, "thin");
  REQUIRE(thin.size() == 1);
  CHECK(thin[0].find("15 voxels along z") != std::string::npos);
  // A 100 mm field of view in-plane against 300 mm: two axes off.
  const auto small = input_warnings(volume(40, 512, 512, {7.5, 0.2, 0.2}, true), kCtRun, "small");
  CHECK(small.size() == 2);
  // Without known spacing (PNG/JPEG) only the voxel count is checked; 2D runs have no z axis.
  CHECK(input_warnings(volume(40, 512, 512, {1.0, 0.01, 0.01}, false), kCtRun, "png").empty());
  CHECK(input_warnings(volume(1, 100, 100, {1.0, 1.0, 1.0}, false), kXrayRun, "cxr").empty());
  CHECK(input_warnings(volume(1, 20, 100, {1.0, 1.0, 1.0}, false), kXrayRun, "cxr").size() == 1);
}

}  // namespace cmt::data
