// cls_views: the classification loss over both augmented views of each sample (the default) or over
// the first view only (Eq. 6 read literally: one term per sample).
#include <cmath>

#include "engine/parameters.h"
#include "models/cmt_model.h"
#include "support/testing.h"
#include "support/tiny_model.h"

using namespace cmt;

TEST_CASE("CMT-CNN: cls_views both averages CE over all 2N views, first over the N first views") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed());
  const Tensor views = test::random_normal(Shape{6, 1, 16, 16, 1}, gen);
  const std::vector<std::int32_t> y{0, 0, 1, 1, 2, 2};
  const Tensor labels = Tensor::from_vector(y, Shape{6});
  auto step = [&](bool both) {
    models::CmtConfig c = test::tiny_cmt_config(8, 3);
    c.cls_both_views = both;
    models::CmtModel model(c);
    ParameterStore store(ctx, model.root());
    store.initialize(ctx, 5);  // same weights for both settings
    ctx.training = true;
    const StepLosses l = model.train_step(ctx, views, labels);
    return std::make_pair(l.fetch().classification, l.probs.to_vector<float>());
  };
  // Not structured bindings: clang 14 cannot capture those in INFO's lambda.
  const auto both = step(true), first_only = step(false);
  const auto loss_both = both.first, loss_first = first_only.first;
  const auto& probs = both.second;
  const auto& probs_first = first_only.second;
  // The same forward pass: `first` reports each sample's first-view probabilities for both its rows.
  for (std::size_t i = 0; i < probs.size(); ++i) REQUIRE(probs_first[i] == probs[(i / 6) * 6 + i % 3]);
  double all = 0, first = 0;
  for (std::size_t r = 0; r < y.size(); ++r) {
    const double ce = -std::log(static_cast<double>(probs[r * 3 + static_cast<std::size_t>(y[r])]));
    all += ce;
    if (r % 2 == 0) first += ce;
  }
  all /= 6;
  first /= 3;
  INFO("both " << loss_both << " (want " << all << "), first " << loss_first << " (want " << first << ")");
  CHECK(std::fabs(loss_both - all) < 1e-4 * std::max(1.0, all));
  CHECK(std::fabs(loss_first - first) < 1e-4 * std::max(1.0, first));
  CHECK(std::fabs(all - first) > 1e-4);  // the two settings are distinguishable on this batch
}
