// Oracle registrations of the data path: DICOM reading (compared with pydicom) and resampling (with torch).
#include "data/dicom.h"
#include "engine/ops/resample.h"
#include "registry.h"

namespace cmt::oracle {
namespace {

CMT_ORACLE_OP("dicom_read", [](Context&, const TensorMap&, const nlohmann::json& args) {
  const data::DicomImage im = data::read_dicom(args.at("path").get<std::string>(), true);
  return TensorMap{{"pixels", Tensor::from_vector(im.pixels, Shape{im.frames, im.rows, im.cols})}};
});

CMT_ORACLE_OP("dicom_series", [](Context&, const TensorMap&, const nlohmann::json& args) {
  const data::Volume v = data::assemble_series(args.at("files").get<std::vector<std::string>>());
  return TensorMap{{"volume", Tensor::from_vector(v.v, Shape{v.d, v.h, v.w})},
                   {"spacing", Tensor::from_vector(std::vector<float>(v.spacing.begin(), v.spacing.end()), Shape{3})}};
});

CMT_ORACLE_OP("resample", [](Context& ctx, const TensorMap& in, const nlohmann::json& args) {
  const auto size = args.at("size").get<std::vector<std::int64_t>>();
  return TensorMap{{"y", ops::resample(ctx, input(in, "x"), size[0], size[1], size[2], args.at("antialias").get<bool>())}};
});

CMT_ORACLE_OP("window_minmax", [](Context& ctx, const TensorMap& in, const nlohmann::json& args) {
  return TensorMap{{"window", ops::hu_window(ctx, input(in, "x"), args.at("lo").get<float>(), args.at("hi").get<float>())},
                   {"minmax", ops::minmax_scale(ctx, input(in, "x"))}};
});

}  // namespace
}  // namespace cmt::oracle
