// The MPI test binary (run under `mpirun -np 2`, see tests/CMakeLists.txt): collectives, synchronised
// batch norm against one-rank batch norm, 2 ranks x batch B == 1 rank x batch 2B through the Trainer,
// resume of a 2-rank checkpoint, and the failure modes (a rank killed or hung midway).
// A mode ending in -cuda runs the same check on this rank's CUDA device with the NCCL communicator
// (the CPU runs use the MPI communicator).
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "engine/cuda_runtime.h"
#include "engine/host_sync.h"
#include "engine/ops/basic.h"
#include "engine/ops/batchnorm.h"
#include "engine/ops/batchnorm_sync.h"
#include "engine/signals.h"
#include "kernels/common/check.h"
#include "mpi/mpi_check_support.h"
#if defined(CMT_WITH_NCCL)
#include <cuda_runtime_api.h>
#include <nccl.h>
#endif
#if defined(CMT_EMULATED_DEVICE)
#include "emu/counters.h"
#endif

using namespace cmt;
using namespace cmt::mpitest;

namespace {

// Where this run's tensors and steps live: the CPU, or (-cuda modes) this rank's CUDA device.
Device g_device = Device::cpu();
Tensor on_device(const Tensor& t) { return g_device.is_cpu() ? t : t.to(g_device); }

std::vector<float> rows_of(const Tensor& t, std::int64_t first, std::int64_t n) {
  const std::vector<float> v = t.to_vector<float>();
  const std::int64_t per = t.numel() / t.dim(0);
  return {v.begin() + first * per, v.begin() + (first + n) * per};
}

// The communicator's collectives, blocking and asynchronous (gradient buckets).
int check_comm_ops(Communicator& comm) {
  Context ctx(g_device);
  const int r = comm.rank(), w = comm.size();
  int fails = 0;
  std::vector<float> mine = {static_cast<float>(r + 1), 0.5f * static_cast<float>(r), -2.f};
  Tensor t = on_device(Tensor::from_vector(mine, Shape{3}));
  comm.all_reduce_sum(ctx, t);
  const float n = static_cast<float>(w);
  fails += expect_close("all_reduce_sum", t.to_vector<float>(), {n * (n + 1) / 2, 0.25f * n * (n - 1), -2.f * n}, 0, 0);
  const Tensor g = comm.all_gather_rows(ctx, on_device(Tensor::from_vector(mine, Shape{1, 3})));
  fails += expect_close("all_gather_rows", rows_of(g, r, 1), mine, 0, 0);
  fails += expect_close("all_gather_rows (rank 0's row)", rows_of(g, 0, 1), {1.f, 0.f, -2.f}, 0, 0);
  Tensor b = on_device(Tensor::from_vector(std::vector<float>{static_cast<float>(r), 3.f}, Shape{2}));
  comm.broadcast(ctx, b, 0);
  fails += expect_close("broadcast", b.to_vector<float>(), {0.f, 3.f}, 0, 0);
  fails += expect_close("all_reduce_scalar", {static_cast<float>(comm.all_reduce_scalar(r + 1.0))}, {n * (n + 1) / 2}, 0, 0);
  // Two buckets in flight at once (NCCL: on the communication stream), completed in order.
  std::vector<float> v1(1000), v2(77), want1(v1.size()), want2(v2.size());
  for (std::size_t i = 0; i < v1.size(); ++i) {
    v1[i] = 0.5f * static_cast<float>(i) * static_cast<float>(r + 1);
    want1[i] = 0.5f * static_cast<float>(i) * n * (n + 1) / 2;
  }
  for (std::size_t i = 0; i < v2.size(); ++i) {
    v2[i] = static_cast<float>(r) - static_cast<float>(i);
    want2[i] = n * (n - 1) / 2 - n * static_cast<float>(i);
  }
  Tensor a1 = on_device(Tensor::from_vector(v1, Shape{static_cast<std::int64_t>(v1.size())}));
  Tensor a2 = on_device(Tensor::from_vector(v2, Shape{static_cast<std::int64_t>(v2.size())}));
  auto p1 = comm.all_reduce_sum_async(ctx, a1);
  auto p2 = comm.all_reduce_sum_async(ctx, a2);
  // A blocking collective while the buckets are in flight (NCCL: on the compute stream, after them).
  Tensor t2 = on_device(Tensor::from_vector(std::vector<float>{static_cast<float>(r)}, Shape{1}));
  comm.all_reduce_sum(ctx, t2);
  p1->wait(ctx);
  p2->wait(ctx);
  fails += expect_close("all_reduce_sum_async (first bucket)", a1.to_vector<float>(), want1, 0, 0);
  fails += expect_close("all_reduce_sum_async (second bucket)", a2.to_vector<float>(), want2, 0, 0);
  fails += expect_close("all_reduce_sum between the buckets", t2.to_vector<float>(), {n * (n - 1) / 2}, 0, 0);
  return fails;
}

// Synchronised BN (op level) against the one-rank op (on the CPU) on the concatenated input: rank r
// holds rows(r) samples of spatial size `side` x `side` (uneven; side 1 with one row is one value per
// channel on that rank, which the per-rank op refuses). Forward and backward run under a
// NoHostSyncScope: the statistics must stay on the device.
int check_sync_bn_case(Communicator& comm, std::int64_t side, std::int64_t (*rows)(int)) {
  Context cpu(Device::cpu()), ctx(g_device);
  const int r = comm.rank(), w = comm.size();
  int fails = 0;
  const std::int64_t c = 5, per = side * side * c;
  std::int64_t total = 0, first = 0;
  for (int k = 0; k < w; ++k) {
    if (k == r) first = total;
    total += rows(k);
  }
  const std::int64_t nrow = rows(r);
  std::mt19937_64 gen(11);
  std::normal_distribution<float> nd(0.7f, 2.f);
  std::vector<float> xv(static_cast<std::size_t>(total * per)), dyv(xv.size()), gam(static_cast<std::size_t>(c)), bet(gam.size());
  for (auto& v : xv) v = nd(gen);
  for (auto& v : dyv) v = nd(gen);
  for (auto& v : gam) v = nd(gen);
  for (auto& v : bet) v = nd(gen);
  const Tensor x_all = Tensor::from_vector(xv, Shape{total, 1, side, side, c}), dy_all = Tensor::from_vector(dyv, x_all.shape());
  const Tensor gamma = Tensor::from_vector(gam, Shape{c}), beta = Tensor::from_vector(bet, Shape{c});
  Tensor rm1 = Tensor::from_vector(std::vector<float>(gam.size(), 0.f), Shape{c}), rv1 = Tensor::from_vector(std::vector<float>(gam.size(), 1.f), Shape{c});
  Tensor rm2 = Tensor::from_vector(std::vector<float>(gam.size(), 0.f), Shape{c}), rv2 = Tensor::from_vector(std::vector<float>(gam.size(), 1.f), Shape{c});
  ops::BatchNormSaved s1;
  const Tensor y1 = ops::batchnorm_forward_train(cpu, x_all, gamma, beta, rm1, rv1, 0.1f, 1e-5f, s1);
  const ops::BatchNormGrads g1 = ops::batchnorm_backward(cpu, dy_all, x_all, gamma, s1);
  const Tensor x_mine = on_device(Tensor::from_vector(rows_of(x_all, first, nrow), Shape{nrow, 1, side, side, c}));
  const Tensor dy_mine = on_device(Tensor::from_vector(rows_of(dy_all, first, nrow), x_mine.shape()));
  const Tensor gamma_mine = on_device(gamma), beta_mine = on_device(beta);
  rm2 = on_device(rm2);
  rv2 = on_device(rv2);
  ops::SyncBatchNormSaved s2;
  Tensor y2;
  ops::BatchNormGrads g2;
  try {
    NoHostSyncScope no_sync("a synchronised batch norm step");
    y2 = ops::batchnorm_sync_forward_train(ctx, comm, x_mine, gamma_mine, beta_mine, rm2, rv2, 0.1f, 1e-5f, s2);
    g2 = ops::batchnorm_sync_backward(ctx, comm, dy_mine, x_mine, gamma_mine, s2, 1e-5f);
  } catch (const Error& e) {
    // Ends every rank: a peer may already wait in the next collective.
    comm.abort_job(std::string("FAIL sync_bn (side ") + std::to_string(side) + "): " + e.what());
  }
  comm.all_reduce_sum(ctx, g2.dgamma);  // per-rank contributions: their sum is the one-rank value
  comm.all_reduce_sum(ctx, g2.dbeta);
  // The device sums in another order than the CPU (as in tests/cuda/test_batchnorm_sync_cuda.cpp).
  const double sum_atol = g_device.is_cpu() ? 1e-5 : 1e-4;
  fails += expect_close("sync_bn count", s2.count.to_vector<float>(), {static_cast<float>(total * side * side)}, 0, 0);
  fails += expect_close("sync_bn y", y2.to_vector<float>(), rows_of(y1, first, nrow), 1e-5, 1e-5);
  fails += expect_close("sync_bn running_mean", rm2.to_vector<float>(), rm1.to_vector<float>(), 1e-6, 1e-5);
  fails += expect_close("sync_bn running_var", rv2.to_vector<float>(), rv1.to_vector<float>(), 1e-6, 1e-5);
  fails += expect_close("sync_bn dx", g2.dx.to_vector<float>(), rows_of(g1.dx, first, nrow), 1e-5, 1e-4);
  fails += expect_close("sync_bn dgamma", g2.dgamma.to_vector<float>(), g1.dgamma.to_vector<float>(), sum_atol, 1e-5);
  fails += expect_close("sync_bn dbeta", g2.dbeta.to_vector<float>(), g1.dbeta.to_vector<float>(), sum_atol, 1e-5);
  return fails;
}

int check_sync_bn_op(Communicator& comm) {
  int fails = check_sync_bn_case(comm, 3, [](int k) -> std::int64_t { return k % 2 ? 1 : 3; });
  fails += check_sync_bn_case(comm, 1, [](int k) -> std::int64_t { return k % 2 ? 2 : 1; });
  return fails;
}

#if defined(CMT_WITH_NCCL)
// NCCL reads and writes its buffers on the device: an all-reduce of a host buffer must stop the job
// with a message naming the call (the emulated NCCL checks every buffer). A device buffer first, so
// that the communicator itself is known to work.
int check_nccl_host_pointer(Communicator& comm) {
  ncclUniqueId id;
  if (comm.rank() == 0) NCCL_CHECK(ncclGetUniqueId(&id));
  Tensor idt = Tensor::empty(Shape{static_cast<std::int64_t>(sizeof(id))}, DType::u8);
  std::memcpy(idt.raw(), &id, sizeof(id));
  Context host(Device::cpu());
  comm.broadcast(host, idt, 0);
  std::memcpy(&id, idt.raw(), sizeof(id));
  CUDA_CHECK(cudaSetDevice(g_device.index));
  ncclComm_t nccl = nullptr;
  NCCL_CHECK(ncclCommInitRank(&nccl, comm.size(), id, comm.rank()));
  Context ctx(g_device);
  Tensor d = on_device(Tensor::from_vector(std::vector<float>(8, 1.f), Shape{8}));
  NCCL_CHECK(ncclAllReduce(d.raw(), d.raw(), 8, ncclFloat32, ncclSum, nccl, ctx.compute_stream()));
  CUDA_CHECK(cudaStreamSynchronize(ctx.compute_stream()));
  int fails = expect_close("ncclAllReduce of a device buffer", d.to_vector<float>(), std::vector<float>(8, static_cast<float>(comm.size())), 0, 0);
  std::vector<float> h(8, 1.f);
  std::fprintf(stderr, "rank %d: ncclAllReduce of a host buffer now (must stop the job)\n", comm.rank());
  const ncclResult_t rc = ncclAllReduce(h.data(), h.data(), 8, ncclFloat32, ncclSum, nccl, ctx.compute_stream());
  CUDA_CHECK(cudaStreamSynchronize(ctx.compute_stream()));
  std::printf("FAIL rank %d: ncclAllReduce accepted a host buffer (%s)\n", comm.rank(), ncclGetErrorString(rc));
  ncclCommDestroy(nccl);
  return fails + 1;
}
#endif

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, std::fabs(static_cast<double>(x)));
  return m;
}

struct RunResult {
  std::vector<float> losses, params, grads, buffers;
  ParameterLayout layout;  // names the parameter of an element in a failure message
};

// Trains `epochs` epochs of batch B per rank on `comm` (a one-rank reference when comm is null).
RunResult train(Communicator* comm, bool bn, bool sync_bn, const Data& d, std::int64_t b, int epochs, const std::string& out = "",
                const std::string& resume = "", std::int64_t max_steps = 0) {
  Context ctx(g_device);
  models::CmtModel model(tiny_model(bn));
  model.set_communicator(comm);
  if (sync_bn) layers::set_sync_batchnorm(model.root(), comm);
  Trainer trainer(ctx, model, trainer_config(epochs, comm, out, max_steps));
  if (resume.empty()) trainer.initialize();
  else trainer.resume(resume);
  ShardSource src(d, b, comm ? comm->rank() : 0, comm ? comm->size() : 1, g_device);
  trainer.fit(src, nullptr);
  RunResult r;
  r.losses = trainer.step_losses();
  r.params = trainer.store().params().to_vector<float>();
  for (const ParameterRef& p : trainer.store().parameter_refs()) r.layout.emplace_back(trainer.store().offset_of(p.path), p.path);
  r.grads = trainer.store().grads().to_vector<float>();
  if (trainer.store().buffers().defined()) r.buffers = trainer.store().buffers().to_vector<float>();
  return r;
}

// Launches so far of the kernels whose names contain `part` (the emulated device counts them; -1 elsewhere).
[[maybe_unused]] long launches_of(const char* part) {
#if defined(CMT_EMULATED_DEVICE)
  long n = 0;
  for (const auto& [name, c] : emu::kernel_counters())
    if (name.find(part) != std::string::npos) n += static_cast<long>(c.launches);
  return n;
#else
  (void)part;
  return -1;
#endif
}

// 2 ranks x batch B against 1 rank x batch 2B (computed on rank 0), every step's loss, the last
// step's gradients, the parameters after every Adam step of `steps` batches.
int check_equal(Communicator& comm, bool bn, bool sync_bn) {
  const std::int64_t b = bn ? 4 : 2;  // BN over few values per channel is ill-conditioned: more rows
  const std::size_t steps = g_device.is_cpu() ? 3 : 2;  // the device modes run on the (slow) emulated device in CI
  const Data d = make_data(b * comm.size() * steps, side(bn), 5);
  const RunResult first = train(&comm, bn, sync_bn, d, b, 1, "", "", 1);
  const RunResult dist = train(&comm, bn, sync_bn, d, b, 1);
  int fails = 0;
  if (launches_of("") >= 0) {
    // The distributed NT-Xent takes its loss from the backward's pass over the similarities: the
    // separate forward (its tile kernel) must not run, the backward's softmax must, once per step.
    const long forward = launches_of("forward_tile_kernel") + launches_of("forward_combine_kernel");
    const long backward = launches_of("softmax_grad_kernel");
    const bool ok = forward == 0 && backward >= static_cast<long>(steps + 1);
    std::printf("%s NT-Xent similarities once per distributed step: forward-only launches %ld, backward softmax %ld\n",
                ok ? "ok  " : "FAIL", forward, backward);
    fails += ok ? 0 : 1;
  }
  // Every rank holds the same parameters.
  Context ctx(g_device);
  const Tensor all = comm.all_gather_rows(ctx, on_device(Tensor::from_vector(dist.params, Shape{1, static_cast<std::int64_t>(dist.params.size())})));
  fails += expect_close("parameters identical on every rank", rows_of(all, comm.size() - 1, 1), rows_of(all, 0, 1), 0, 0);
  if (comm.rank() == 0) {
    if (bn && !sync_bn) {
      // Per-rank statistics (the default) normalise each half-batch on its own: the first loss must
      // differ from the one-rank (global statistics) loss, or the statistics were not per rank.
      const RunResult ref1 = train(nullptr, bn, false, d, b * comm.size(), 1, "", "", 1);
      const double diff = std::fabs(static_cast<double>(dist.losses.at(0)) - ref1.losses.at(0));
      const bool ok = dist.losses.size() == steps && diff > 1e-4;
      std::printf("%s per-rank BN: %zu steps; first loss %.7f vs one-rank %.7f (must differ)\n", ok ? "ok  " : "FAIL", dist.losses.size(),
                  static_cast<double>(dist.losses[0]), static_cast<double>(ref1.losses[0]));
      return fails + (ok ? 0 : 1);
    }
    const RunResult ref_first = train(nullptr, bn, false, d, b * comm.size(), 1, "", "", 1);
    const RunResult ref = train(nullptr, bn, false, d, b * comm.size(), 1);
    fails += expect_close("loss of the first step", first.losses, ref_first.losses, 1e-6, 1e-5);
    fails += expect_close("buffers after the first step", first.buffers, ref_first.buffers, 1e-6, 1e-4);
    // Observed: ~5e-6 relative L2 with and without BN; element-wise within 1e-3 of the largest gradient.
    fails += expect_close_adam("gradients of the first step", first.grads, ref_first.grads, 1e-4, 1e-3 * max_abs(ref_first.grads));
    // lr is 1e-3: no parameter may be off by a tenth of one Adam step (1e-4).
    fails += expect_close_adam("parameters after the first Adam step", first.params, ref_first.params, 1e-5, 1e-4);
    fails += expect_close("step losses", dist.losses, ref.losses, 1e-6, 1e-5);
    fails += expect_close_adam("gradients of the last step", dist.grads, ref.grads, 1e-3, 1e-3 * max_abs(ref.grads));
    fails += expect_close_adam("parameters after the Adam steps", dist.params, ref.params, 1e-4, 3e-4, &ref.layout);
    // After Adam steps the running statistics follow the parameters, whose near-zero-gradient elements
    // move by noise-sized fractions of lr (expect_close_adam): on the device a running mean near zero
    // moves by ~4e-6 that way. The first step's buffers above are the exact check of the statistics.
    if (g_device.is_cpu()) fails += expect_close("buffers (BN running stats)", dist.buffers, ref.buffers, 1e-6, 1e-4);
    else fails += expect_close_adam("buffers (BN running stats)", dist.buffers, ref.buffers, 1e-5, 2e-5);
  }
  return fails;
}

// Resume: epoch 1 on 2 ranks writes <dir>/last.h5 (mode resume-write); epoch 2 resumed on this run's
// ranks must equal 2 epochs of the one-rank reference, and on 2 ranks the uninterrupted 2-rank run
// bit for bit. Four samples per rank, as in check_equal: with two, one pre-activation of the step-2
// batch sat 8e-8 from zero and the ReLU mask flipped between summation orders (any conv path), which
// moved every gradient below it by ~5% (a chaotic input, not an error of the resume).
int check_resume(Communicator& comm, const std::string& dir, bool write) {
  const std::int64_t global = 8;
  const Data d = make_data(global * 2, side(true), 9);
  if (write) {
    CMT_CHECK(comm.size() == 2, "resume-write runs on 2 ranks");
    train(&comm, true, true, d, global / comm.size(), 1, dir);
    comm.barrier();
    const bool there = std::filesystem::exists(std::filesystem::path(dir) / "last.h5");
    std::printf("%s rank %d: %s/last.h5 written by rank 0\n", there ? "ok  " : "FAIL", comm.rank(), dir.c_str());
    return there ? 0 : 1;
  }
  const RunResult resumed = train(&comm, true, true, d, global / comm.size(), 2, "", (std::filesystem::path(dir) / "last.h5").string());
  const RunResult same_ranks = comm.size() == 2 ? train(&comm, true, true, d, global / comm.size(), 2) : RunResult{};
  if (comm.rank() != 0) return 0;
  const RunResult ref = train(nullptr, true, false, d, global, 2);
  int fails = 0;
  fails += expect_close("losses of the resumed epoch", resumed.losses, {ref.losses.begin() + 2, ref.losses.end()}, 1e-6, 1e-5);
  fails += expect_close_adam("parameters after the resumed epoch", resumed.params, ref.params, 1e-4, 3e-4, &ref.layout);
  if (comm.size() == 2) {
    fails += expect_close("losses of the resumed epoch against the uninterrupted 2-rank run", resumed.losses,
                          {same_ranks.losses.begin() + 2, same_ranks.losses.end()}, 0, 0);
    fails += expect_close("parameters against the uninterrupted 2-rank run", resumed.params, same_ranks.params, 0, 0);
  }
  return fails;
}

// Checkpoint-and-requeue: SIGUSR1 reaches rank 1 only, during step 2 of 4; every rank stops after
// that step, rank 0 writes last.h5; resuming it on 2 ranks ends exactly where the uninterrupted run
// ends; resuming this mid-epoch checkpoint on 1 rank is refused with a clear message.
int check_signal(Communicator& comm, const std::string& dir) {
  const std::int64_t b = 2;
  const Data d = make_data(b * comm.size() * 4, side(true), 13);
  const RunResult full = train(&comm, true, true, d, b, 1);
  install_stop_handlers();
  clear_stop_request();
  Context ctx(g_device);
  models::CmtModel model(tiny_model(true));
  model.set_communicator(&comm);
  layers::set_sync_batchnorm(model.root(), &comm);
  Trainer trainer(ctx, model, trainer_config(1, &comm, dir));
  trainer.initialize();
  ShardSource src(d, b, comm.rank(), comm.size(), g_device);
  struct Signaller final : BatchSource {  // rank 1 receives SIGUSR1 while reading its second batch
    ShardSource& inner;
    int rank, n = 0;
    Signaller(ShardSource& s, int r) : inner(s), rank(r) {}
    void start_epoch(int e) override { inner.start_epoch(e); }
    bool next(Batch& batch) override {
      if (n++ == 1 && rank == 1) std::raise(SIGUSR1);
      return inner.next(batch);
    }
    std::int64_t num_samples() const override { return inner.num_samples(); }
    std::int64_t batches_per_epoch() const override { return inner.batches_per_epoch(); }
  } signaller(src, comm.rank());
  const TrainStatus status = trainer.fit(signaller, nullptr);
  clear_stop_request();
  int fails = 0;
  const bool stopped = status == TrainStatus::interrupted && trainer.global_step() == 2;
  std::printf("%s rank %d: interrupted after step %lld (expected 2)\n", stopped ? "ok  " : "FAIL", comm.rank(),
              static_cast<long long>(trainer.global_step()));
  fails += stopped ? 0 : 1;
  comm.barrier();
  const std::string ckpt = (std::filesystem::path(dir) / "last.h5").string();
  const RunResult resumed = train(&comm, true, true, d, b, 1, "", ckpt);
  fails += expect_close("parameters: interrupted + resumed == uninterrupted", resumed.params, full.params, 0, 0);
  if (comm.rank() == 0) {
    Context c1(g_device);
    models::CmtModel m1(tiny_model(true));
    Trainer one(c1, m1, trainer_config(1, nullptr, ""));
    bool refused = false;
    try {
      one.resume(ckpt);
    } catch (const Error& e) {
      refused = std::string(e.what()).find("mid-epoch by 2 rank(s)") != std::string::npos;
      std::printf("%s mid-epoch checkpoint on 1 rank refused: %s\n", refused ? "ok  " : "FAIL", e.what());
    }
    fails += refused ? 0 : 1;
  }
  return fails;
}

// Failure modes: rank 1 is killed (SIGKILL) or hangs in its second step; rank 0 must end.
int check_failure(Communicator& comm, bool hang) {
  const Data d = make_data(2 * comm.size() * 4, side(true), 3);
  Context ctx(g_device);
  models::CmtModel model(tiny_model(true));
  model.set_communicator(&comm);
  Trainer trainer(ctx, model, trainer_config(1, &comm, ""));
  trainer.initialize();
  ShardSource src(d, 2, comm.rank(), comm.size(), g_device);
  if (comm.rank() == 1) {
    Batch batch;
    src.start_epoch(0);
    struct Bomb final : BatchSource {  // yields one batch, then dies or hangs
      ShardSource& inner;
      bool hang_;
      int n = 0;
      Bomb(ShardSource& s, bool h) : inner(s), hang_(h) {}
      void start_epoch(int e) override { inner.start_epoch(e); }
      bool next(Batch& b) override {
        if (n++ == 1) {
          std::fprintf(stderr, "rank 1: %s now (test)\n", hang_ ? "hanging" : "killed");
          if (hang_) std::this_thread::sleep_for(std::chrono::hours(1));
          std::raise(SIGKILL);
        }
        return inner.next(b);
      }
      std::int64_t num_samples() const override { return inner.num_samples(); }
      std::int64_t batches_per_epoch() const override { return inner.batches_per_epoch(); }
    } bomb(src, hang);
    trainer.fit(bomb, nullptr);
  } else {
    trainer.fit(src, nullptr);
  }
  std::printf("FAIL rank %d finished although a peer died\n", comm.rank());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string arg = argc > 1 ? argv[1] : "";
  const std::string suffix = "-cuda";
  const bool cuda = arg.size() > suffix.size() && arg.compare(arg.size() - suffix.size(), suffix.size(), suffix) == 0;
  const std::string mode = cuda ? arg.substr(0, arg.size() - suffix.size()) : arg;
  const bool nccl_raw = mode == "nccl-host-pointer";  // the NCCL API itself, bootstrapped over MPI
  try {
    if (cuda || nccl_raw) {
      const CudaStatus& s = cuda_status();
      if (!s.available) {
        std::fprintf(stderr, "cmt_mpi_check %s: skipped, no CUDA device (%s)\n", arg.c_str(), s.reason.c_str());
        return 77;
      }
      g_device = Device::cuda(local_rank() % s.device_count);
    }
    // The NCCL communicator is bound to a CUDA context's device; it must outlive the communicator.
    std::unique_ptr<Context> comm_ctx = cuda ? std::make_unique<Context>(g_device) : nullptr;
    auto comm = make_communicator(cuda ? "nccl" : "mpi", comm_ctx.get());
    // On the emulated device rank 0's one-rank reference takes minutes while the others wait.
    comm->set_timeout(std::getenv("CMT_COMM_TIMEOUT") ? std::atof(std::getenv("CMT_COMM_TIMEOUT")) : cuda ? 1800 : 60);
    if (comm->rank() == 0) std::printf("%s: %d ranks, communicator %s, %s\n", arg.c_str(), comm->size(), comm->name().c_str(), g_device.str().c_str());
    int fails = -1;
    if (mode == "collectives") fails = check_comm_ops(*comm) + check_sync_bn_op(*comm);
    else if (mode == "comm-ops") fails = check_comm_ops(*comm);
    else if (mode == "syncbn-op") fails = check_sync_bn_op(*comm);
#if defined(CMT_WITH_NCCL)
    else if (nccl_raw && !cuda) fails = check_nccl_host_pointer(*comm);
#endif
    else if (mode == "equal-nobn") fails = check_equal(*comm, false, false);
    else if (mode == "equal-syncbn") fails = check_equal(*comm, true, true);
    else if (mode == "perrank-bn") fails = check_equal(*comm, true, false);
    else if ((mode == "resume-write" || mode == "resume-read") && argc > 2) fails = check_resume(*comm, argv[2], mode == "resume-write");
    else if (mode == "signal" && argc > 2) fails = check_signal(*comm, argv[2]);
    else if (mode == "die" || mode == "hang") fails = check_failure(*comm, mode == "hang");
    if (fails < 0) {
      std::fprintf(stderr,
                   "usage: cmt_mpi_check MODE[-cuda] [DIR], MODE: collectives|comm-ops|syncbn-op|equal-nobn|equal-syncbn|perrank-bn|"
                   "resume-write DIR|resume-read DIR|signal DIR|die|hang; or cmt_mpi_check nccl-host-pointer (must stop the job)\n"
                   "(-cuda: on this rank's CUDA device with the NCCL communicator)\n");
      return 2;
    }
    const double total = comm->all_reduce_scalar(fails);
    if (comm->rank() == 0) std::printf("%s: %s\n", arg.c_str(), total == 0 ? "passed" : "FAILED");
    return total == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cmt_mpi_check %s: %s\n", arg.c_str(), e.what());
    return 1;
  }
}
