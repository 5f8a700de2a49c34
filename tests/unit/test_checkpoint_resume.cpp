// Mid-epoch checkpoints (checkpoint_steps, checkpoint_minutes, SIGUSR1): a run that dies or stops
// mid-epoch and resumes ends with the uninterrupted run's weights, bit for bit, and with its epoch
// summaries (the resumed epoch's averages cover the whole epoch, not only the steps after the resume).
#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "engine/checkpoint_schedule.h"
#include "engine/signals.h"
#include "mpi/mpi_check_support.h"  // the tiny model, the in-memory source, the trainer config

using namespace cmt;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kBatch = 2;
constexpr int kEpochs = 2;
constexpr std::int64_t kStepsPerEpoch = 4;

const mpitest::Data& data() {
  static const mpitest::Data d = mpitest::make_data(kBatch * kStepsPerEpoch, mpitest::side(true), 21);
  return d;
}

fs::path scratch(const std::string& name) {
  const fs::path p = fs::path(CMT_BINARY_DIR) / "test-checkpoint-resume" / name;
  fs::remove_all(p);
  return p;
}

TrainerConfig config(const fs::path& out, std::int64_t checkpoint_steps = 0) {
  TrainerConfig t = mpitest::trainer_config(kEpochs, nullptr, out.string());
  t.checkpoint_steps = checkpoint_steps;
  return t;
}

// What a run ends with.
struct RunEnd {
  std::vector<float> params, buffers, step_losses;
  std::vector<EpochRecord> history;
};

// The interruption: at batch `at` of epoch `epoch` the source either throws (a process killed
// there: the trainer writes nothing more, no end-of-epoch checkpoint) or raises SIGUSR1.
struct Interrupting final : BatchSource {
  BatchSource& inner;
  int epoch, at;
  bool kill;
  int current = 0, k = 0;
  Interrupting(BatchSource& s, int e, int a, bool hard) : inner(s), epoch(e), at(a), kill(hard) {}
  void start_epoch(int e) override {
    current = e;
    k = 0;
    inner.start_epoch(e);
  }
  bool next(Batch& batch) override {
    if (current == epoch && k++ == at) {
      if (kill) throw std::runtime_error("simulated node failure");
      std::raise(SIGUSR1);
    }
    return inner.next(batch);
  }
  std::int64_t num_samples() const override { return inner.num_samples(); }
  std::int64_t batches_per_epoch() const override { return inner.batches_per_epoch(); }
};

// Trains from the seed (or from `resume`) to the end, or to the interruption at batch `interrupt_at`
// of epoch `interrupt_epoch` (-1: none).
RunEnd train(const TrainerConfig& tc, const std::string& resume = "", int interrupt_epoch = -1, int interrupt_at = 0, bool kill = false) {
  Context ctx(Device::cpu());
  models::CmtModel model(mpitest::tiny_model(true));
  Trainer trainer(ctx, model, tc);
  if (resume.empty()) trainer.initialize();
  else trainer.resume(resume);
  mpitest::ShardSource plain(data(), kBatch, 0, 1);
  Interrupting interrupting(plain, interrupt_epoch, interrupt_at, kill);
  BatchSource& source = interrupt_epoch >= 0 ? static_cast<BatchSource&>(interrupting) : plain;
  if (kill) {
    CHECK_THROWS_WITH_AS(trainer.fit(source, nullptr), "simulated node failure", std::runtime_error);
  } else {
    install_stop_handlers();
    clear_stop_request();
    const TrainStatus status = trainer.fit(source, nullptr);
    clear_stop_request();
    CHECK(status == (interrupt_epoch >= 0 ? TrainStatus::interrupted : TrainStatus::finished));
  }
  return {trainer.store().params().to_vector<float>(), trainer.store().buffers().to_vector<float>(), trainer.step_losses(),
          trainer.history()};
}

std::vector<std::string> lines(const fs::path& file) {
  std::vector<std::string> all;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) all.push_back(line);
  return all;
}

// metrics.jsonl without the timing fields (samples/s and memory differ between any two runs).
std::vector<nlohmann::json> logged_epochs(const fs::path& run) {
  std::vector<nlohmann::json> epochs;
  for (const std::string& line : lines(run / "metrics.jsonl")) {
    nlohmann::json j = nlohmann::json::parse(line);
    j.erase("samples_per_s");
    j.erase("peak_device_bytes");
    epochs.push_back(j);
  }
  return epochs;
}

void check_same_summaries(const std::vector<EpochRecord>& got, const std::vector<EpochRecord>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    INFO("epoch " << want[i].epoch);
    CHECK(got[i].epoch == want[i].epoch);
    CHECK(got[i].step == want[i].step);
    CHECK(got[i].loss == want[i].loss);  // exact: the same sums of the same step losses
    CHECK(got[i].loss_cls == want[i].loss_cls);
    CHECK(got[i].loss_cst == want[i].loss_cst);
    CHECK(got[i].pos_sim == want[i].pos_sim);
    CHECK(got[i].train_accuracy == want[i].train_accuracy);
    CHECK(got[i].lr == want[i].lr);
  }
}

// Resumes <dir>/last.h5 (2 steps of epoch 2 left): the run must end as the uninterrupted one did.
void check_resumed_run_ends_like(const RunEnd& full, const fs::path& full_dir, const TrainerConfig& tc, const fs::path& dir) {
  const RunEnd resumed = train(tc, (dir / "last.h5").string());
  CHECK(resumed.step_losses.size() == 2);
  CHECK(resumed.params == full.params);  // bit for bit
  CHECK(resumed.buffers == full.buffers);
  check_same_summaries(resumed.history, full.history);
  CHECK(logged_epochs(dir) == logged_epochs(full_dir));
  // Every step once, with the same losses (loss_hex is exact): the resume dropped the lost steps' rows.
  CHECK(lines(dir / "steps.csv") == lines(full_dir / "steps.csv"));
}

}  // namespace

TEST_CASE("checkpoint_steps: killed mid-epoch and resumed, the run ends with the uninterrupted weights and epoch summaries") {
  const fs::path full_dir = scratch("steps-full"), dir = scratch("steps-killed");
  const RunEnd full = train(config(full_dir));
  // Checkpoints every 3 steps: mid-epoch at step 3 (epoch 1) and 6 (epoch 2, 2 of its 4 steps); the
  // process dies reading epoch 2's 4th batch, after step 7, which is lost.
  train(config(dir, 3), "", 1, 3, /*kill=*/true);
  const std::string last = (dir / "last.h5").string();
  const CheckpointState s = read_checkpoint_state(last);
  CHECK(s.step == 6);
  CHECK(s.epoch == 1);
  CHECK(s.step_in_epoch == 2);
  REQUIRE(s.epoch_totals.has_value());
  CHECK(s.epoch_totals->steps == 2);
  CHECK(s.epoch_totals->seen == 2 * 2 * kBatch);  // two views per sample
  check_resumed_run_ends_like(full, full_dir, config(dir, 3), dir);  // steps 7 and 8: the lost step is redone
}

TEST_CASE("SIGUSR1 mid-epoch: the resumed epoch's summary covers the whole epoch") {
  const fs::path full_dir = scratch("signal-full"), dir = scratch("signal");
  const RunEnd full = train(config(full_dir));
  train(config(dir), "", 1, 1);  // the signal arrives during epoch 2's 2nd step: stop after it
  check_resumed_run_ends_like(full, full_dir, config(dir), dir);
}

TEST_CASE("a mid-epoch checkpoint without epoch totals (older files) resumes exactly, its epoch averaging the resumed steps") {
  const fs::path full_dir = scratch("old-full"), dir = scratch("old");
  const RunEnd full = train(config(full_dir));
  train(config(dir, 3), "", 1, 3, /*kill=*/true);
  const std::string last = (dir / "last.h5").string();
  {  // rewrite last.h5 as an older cmt wrote it: the same state without epoch_totals
    Context ctx(Device::cpu());
    models::CmtModel model(mpitest::tiny_model(true));
    Trainer trainer(ctx, model, config(""));
    trainer.resume(last);
    CheckpointState s = read_checkpoint_state(last);
    s.epoch_totals.reset();
    save_checkpoint(last, trainer.store(), &trainer.optimizer(), s);
  }
  REQUIRE_FALSE(read_checkpoint_state(last).epoch_totals.has_value());
  const RunEnd resumed = train(config(dir, 3), last);
  CHECK(resumed.params == full.params);
  REQUIRE(resumed.history.size() == 2);
  REQUIRE(resumed.step_losses.size() == 2);
  const double after_resume = (static_cast<double>(resumed.step_losses[0]) + static_cast<double>(resumed.step_losses[1])) / 2;
  CHECK(resumed.history[1].loss == after_resume);
}

TEST_CASE("checkpoint schedule: every N steps of the whole run, or once N minutes have passed since the last checkpoint") {
  using namespace std::chrono_literals;
  std::chrono::steady_clock::time_point now{};
  const auto clock = [&now] { return now; };

  const CheckpointSchedule off(0, 0, clock);
  CHECK_FALSE(off.enabled());

  const CheckpointSchedule steps(3, 0, clock);
  CHECK(steps.enabled());
  CHECK_FALSE(steps.due(1));
  CHECK_FALSE(steps.due(2));
  CHECK(steps.due(3));
  CHECK_FALSE(steps.due(4));
  CHECK(steps.due(6));
  now += 1000h;
  CHECK_FALSE(steps.due(7));  // no minutes given: time alone never makes it due

  CheckpointSchedule minutes(0, 2.5, clock);  // the clock starts at construction
  CHECK(minutes.enabled());
  now += 149s;
  CHECK_FALSE(minutes.due(3));  // no steps given: a step count alone never makes it due
  now += 1s;
  CHECK(minutes.due(4));
  minutes.restart();  // written: the next one is 2.5 minutes away
  CHECK_FALSE(minutes.due(5));
  now += 149s;
  CHECK_FALSE(minutes.due(6));
  now += 1s;
  CHECK(minutes.due(7));

  CheckpointSchedule both(10, 1, clock);
  CHECK(both.due(10));
  CHECK_FALSE(both.due(11));
  now += 60s;
  CHECK(both.due(11));
}
