// Single-process, MPI and NCCL communicators.
#include "engine/communicator.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

#include "engine/ops/basic.h"
#if defined(CMT_WITH_MPI)
#include <mpi.h>
#endif
#if defined(CMT_WITH_NCCL)
#include <cuda_runtime_api.h>
#include <nccl.h>
#endif

namespace cmt {

namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

class DonePending final : public PendingCollective {
 public:
  void wait(Context&) override {}
};

class SingleCommunicator final : public Communicator {
 public:
  std::string name() const override { return "single"; }
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void all_reduce_sum(Context&, Tensor&) override {}
  Tensor all_gather_rows(Context&, const Tensor& local) override { return local; }
  void broadcast(Context&, Tensor&, int) override {}
  double all_reduce_scalar(double v) override { return v; }
  void barrier() override {}
  void abort_job(const std::string&, int) override {}
};

#if defined(CMT_WITH_MPI)
void mpi_check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  CMT_THROW("MPI error in " << what << ": " << std::string(text, static_cast<std::size_t>(len)));
}

// MPI lives as long as the process (several folds of `cmt cv` make several communicators; MPI can be
// initialised only once): initialised on first use, finalised at exit.
void ensure_mpi() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) return;
  int provided = 0;
  // The watchdog thread calls MPI_Abort while the main thread waits inside a collective.
  mpi_check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided), "MPI_Init_thread");
  std::atexit([] {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  });
}

[[noreturn]] void mpi_abort(int rank, const std::string& why, int code) {
  std::fprintf(stderr, "cmt: rank %d: %s\n", rank, why.c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);  // MPI_Abort does not return; should it, this rank still ends
}

// Aborts the job when a collective takes longer than the timeout: a dead or hung rank must not
// make the others wait forever.
class Watchdog {
 public:
  explicit Watchdog(int rank) : rank_(rank), thread_([this] { loop(); }) {}
  ~Watchdog() {
    stop_ = true;
    thread_.join();
  }
  void begin(const char* what, double timeout_s) {
    std::lock_guard<std::mutex> lock(mutex_);
    what_ = what;
    timeout_s_ = timeout_s;
    start_ = std::chrono::steady_clock::now();
    active_ = true;
  }
  void end() { active_ = false; }

 private:
  void loop() {
    while (!stop_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      if (!active_) continue;
      std::lock_guard<std::mutex> lock(mutex_);
      const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
      if (active_ && timeout_s_ > 0 && waited > timeout_s_) {
        char why[256];
        std::snprintf(why, sizeof(why), "%s has waited %.0f s for the other ranks (timeout %.0f s, --comm-timeout): a rank died or hangs; aborting the job",
                      what_, waited, timeout_s_);
        mpi_abort(rank_, why, 1);
      }
    }
  }
  int rank_;
  std::atomic<bool> stop_{false}, active_{false};
  std::mutex mutex_;
  const char* what_ = "";
  double timeout_s_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::thread thread_;
};

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    ensure_mpi();
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    watchdog_ = std::make_unique<Watchdog>(rank_);
  }
  ~MpiCommunicator() override = default;
  std::string name() const override { return "mpi"; }
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void all_reduce_sum(Context& ctx, Tensor& t) override {
    CMT_CHECK(t.dtype() == DType::f32, "MPI all_reduce_sum: f32 expected, got " << t.describe());
    Staged s(ctx, t);
    guarded("all_reduce", [&] { return MPI_Allreduce(MPI_IN_PLACE, s.host.raw(), static_cast<int>(t.numel()), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD); });
    s.write_back(ctx, t);
  }
  Tensor all_gather_rows(Context& ctx, const Tensor& local) override {
    CMT_CHECK(local.dtype() == DType::f32, "all_gather_rows: f32 only, got " << local.describe());
    Tensor host = local.device().is_cpu() ? local : local.to(Device::cpu());
    Shape out_shape = local.shape();
    out_shape[0] *= size_;
    Tensor all = Tensor::empty(out_shape, DType::f32);
    guarded("all_gather", [&] {
      return MPI_Allgather(host.raw(), static_cast<int>(host.numel()), MPI_FLOAT, all.raw(), static_cast<int>(host.numel()), MPI_FLOAT,
                           MPI_COMM_WORLD);
    });
    (void)ctx;
    return local.device().is_cpu() ? all : all.to(local.device());
  }
  void broadcast(Context& ctx, Tensor& t, int root) override {
    Staged s(ctx, t);
    guarded("broadcast", [&] { return MPI_Bcast(s.host.raw(), static_cast<int>(t.nbytes()), MPI_BYTE, root, MPI_COMM_WORLD); });
    s.write_back(ctx, t);
  }
  double all_reduce_scalar(double v) override {
    double out = 0;
    guarded("all_reduce_scalar", [&] { return MPI_Allreduce(&v, &out, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD); });
    return out;
  }
  void barrier() override {
    guarded("barrier", [&] { return MPI_Barrier(MPI_COMM_WORLD); });
  }
  void abort_job(const std::string& why, int code) override { mpi_abort(rank_, why, code); }

  // CPU tensors: MPI_Iallreduce, completed (under the watchdog) in wait(). CUDA tensors are staged
  // through the host, so they complete at once.
  std::unique_ptr<PendingCollective> all_reduce_sum_async(Context& ctx, Tensor& t) override {
    if (!t.device().is_cpu()) return Communicator::all_reduce_sum_async(ctx, t);
    CMT_CHECK(t.dtype() == DType::f32, "MPI all_reduce_sum_async: f32 expected, got " << t.describe());
    auto p = std::make_unique<Pending>(this);
    mpi_check(MPI_Iallreduce(MPI_IN_PLACE, t.raw(), static_cast<int>(t.numel()), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &p->request),
              "MPI_Iallreduce");
    return p;
  }

 private:
  struct Pending final : PendingCollective {
    explicit Pending(MpiCommunicator* c) : comm(c) {}
    void wait(Context&) override {
      comm->guarded("all_reduce (gradient bucket)", [&] { return MPI_Wait(&request, MPI_STATUS_IGNORE); });
    }
    MpiCommunicator* comm;
    MPI_Request request = MPI_REQUEST_NULL;
  };
  // CUDA tensors go through a host copy; CPU tensors are used in place.
  struct Staged {
    Tensor host;
    Staged(Context&, const Tensor& t) : host(t.device().is_cpu() ? t : t.to(Device::cpu())) {}
    void write_back(Context& ctx, Tensor& t) {
      if (!t.device().is_cpu()) ops::copy(ctx, host, t);
    }
  };
  template <typename Fn>
  void guarded(const char* what, Fn&& fn) {
    watchdog_->begin(what, timeout_s_);
    const int rc = fn();
    watchdog_->end();
    mpi_check(rc, what);
  }
  int rank_ = 0, size_ = 1;
  std::unique_ptr<Watchdog> watchdog_;
};
#endif

#if defined(CMT_WITH_NCCL) && defined(CMT_WITH_MPI)
// NCCL on the compute stream. Every collective is waited for by polling the stream and NCCL's
// asynchronous error, so that a dead or hung peer ends in ncclCommAbort + MPI_Abort after the timeout
// instead of a stream that never completes.
class NcclCommunicator final : public Communicator {
 public:
  // Host side (unique id, scalars, abort): MPI when the launcher started several ranks; a single
  // process needs no MPI at all (the GPU check runs `cmt_bench_comm` without mpirun).
  explicit NcclCommunicator(Context& ctx)
      : mpi_(launcher_world_size() > 1 ? std::unique_ptr<Communicator>(std::make_unique<MpiCommunicator>())
                                       : std::unique_ptr<Communicator>(std::make_unique<SingleCommunicator>())) {
    CMT_CHECK(ctx.is_cuda(), "the NCCL communicator needs a CUDA context (use --comm mpi on CPU)");
    ncclUniqueId id;
    if (mpi_->rank() == 0) NCCL_CHECK(ncclGetUniqueId(&id));
    Tensor idt = Tensor::empty(Shape{static_cast<std::int64_t>(sizeof(id))}, DType::u8);
    std::memcpy(idt.raw(), &id, sizeof(id));
    Context host_ctx(Device::cpu());
    mpi_->broadcast(host_ctx, idt, 0);
    std::memcpy(&id, idt.raw(), sizeof(id));
    CUDA_CHECK(cudaSetDevice(ctx.device().index));
    NCCL_CHECK(ncclCommInitRank(&comm_, mpi_->size(), id, mpi_->rank()));
  }
  ~NcclCommunicator() override {
    if (comm_) ncclCommDestroy(comm_);
    if (comm_stream_) cudaStreamDestroy(comm_stream_);
  }
  std::string name() const override { return "nccl"; }
  int rank() const override { return mpi_->rank(); }
  int size() const override { return mpi_->size(); }
  void all_reduce_sum(Context& ctx, Tensor& t) override {
    CMT_CHECK(t.is_cuda() && t.dtype() == DType::f32, "NCCL all_reduce_sum: f32 CUDA tensor expected, got " << t.describe());
    NCCL_CHECK(ncclAllReduce(t.raw(), t.raw(), static_cast<std::size_t>(t.numel()), ncclFloat32, ncclSum, comm_, ctx.compute_stream()));
    wait(ctx, "all_reduce");
  }
  Tensor all_gather_rows(Context& ctx, const Tensor& local) override {
    CMT_CHECK(local.is_cuda() && local.dtype() == DType::f32, "NCCL all_gather_rows: f32 CUDA tensor expected, got " << local.describe());
    Shape s = local.shape();
    s[0] *= size();
    Tensor all = Tensor::empty(s, local.dtype(), local.device());
    NCCL_CHECK(ncclAllGather(local.raw(), all.raw(), static_cast<std::size_t>(local.numel()), ncclFloat32, comm_, ctx.compute_stream()));
    wait(ctx, "all_gather");
    return all;
  }
  void broadcast(Context& ctx, Tensor& t, int root) override {
    CMT_CHECK(t.is_cuda(), "NCCL broadcast: CUDA tensor expected, got " << t.describe());
    NCCL_CHECK(ncclBroadcast(t.raw(), t.raw(), t.nbytes(), ncclUint8, root, comm_, ctx.compute_stream()));
    wait(ctx, "broadcast");
  }
  // On a communication stream that waits for the compute stream's work so far; wait() polls it (with
  // the timeout) and makes the compute stream wait for it.
  std::unique_ptr<PendingCollective> all_reduce_sum_async(Context& ctx, Tensor& t) override {
    CMT_CHECK(t.is_cuda() && t.dtype() == DType::f32, "NCCL all_reduce_sum_async: f32 CUDA tensor expected, got " << t.describe());
    if (!comm_stream_) CUDA_CHECK(cudaStreamCreateWithFlags(&comm_stream_, cudaStreamNonBlocking));
    auto p = std::make_unique<Pending>(this);
    CUDA_CHECK(cudaEventCreateWithFlags(&p->ready, cudaEventDisableTiming));
    CUDA_CHECK(cudaEventCreateWithFlags(&p->done, cudaEventDisableTiming));
    CUDA_CHECK(cudaEventRecord(p->ready, ctx.compute_stream()));
    CUDA_CHECK(cudaStreamWaitEvent(comm_stream_, p->ready, 0));
    NCCL_CHECK(ncclAllReduce(t.raw(), t.raw(), static_cast<std::size_t>(t.numel()), ncclFloat32, ncclSum, comm_, comm_stream_));
    CUDA_CHECK(cudaEventRecord(p->done, comm_stream_));
    return p;
  }
  double all_reduce_scalar(double v) override { return mpi_->all_reduce_scalar(v); }
  void barrier() override { mpi_->barrier(); }
  void set_timeout(double seconds) override {
    timeout_s_ = seconds;
    mpi_->set_timeout(seconds);
  }
  void abort_job(const std::string& why, int code) override {
    if (comm_) ncclCommAbort(comm_);
    comm_ = nullptr;
    mpi_->abort_job(why, code);  // MPI: does not return
    std::fprintf(stderr, "cmt: %s\n", why.c_str());
    std::fflush(stderr);
    std::_Exit(code);
  }

 private:
  struct Pending final : PendingCollective {
    explicit Pending(NcclCommunicator* c) : comm(c) {}
    ~Pending() override {
      if (ready) cudaEventDestroy(ready);
      if (done) cudaEventDestroy(done);
    }
    void wait(Context& ctx) override {
      comm->poll([&] { return cudaEventQuery(done); }, "all_reduce (gradient bucket)");
      CUDA_CHECK(cudaStreamWaitEvent(ctx.compute_stream(), done, 0));
    }
    NcclCommunicator* comm;
    cudaEvent_t ready = nullptr, done = nullptr;
  };
  void wait(Context& ctx, const char* what) {
    cudaStream_t stream = ctx.compute_stream();
    poll([&] { return cudaStreamQuery(stream); }, what);
  }
  // Polls `query` until it succeeds, watching NCCL's asynchronous error and the timeout.
  template <typename Query>
  void poll(Query&& query, const char* what) {
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
      const cudaError_t q = query();
      if (q == cudaSuccess) return;
      if (q != cudaErrorNotReady) CUDA_CHECK(q);
      ncclResult_t async = ncclSuccess;
      NCCL_CHECK(ncclCommGetAsyncError(comm_, &async));
      if (async != ncclSuccess)
        abort_job(std::string("NCCL ") + what + " failed: " + ncclGetErrorString(async) + " (a peer failed); aborting the job", 1);
      const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (timeout_s_ > 0 && waited > timeout_s_) {
        char why[256];
        std::snprintf(why, sizeof(why), "NCCL %s has waited %.0f s for the other ranks (timeout %.0f s, --comm-timeout): a rank died or hangs; aborting the job",
                      what, waited, timeout_s_);
        abort_job(why, 1);
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
  std::unique_ptr<Communicator> mpi_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t comm_stream_ = nullptr;  // gradient buckets run here, beside the backward pass
};
#endif

}  // namespace

std::unique_ptr<PendingCollective> Communicator::all_reduce_sum_async(Context& ctx, Tensor& t) {
  all_reduce_sum(ctx, t);
  return std::make_unique<DonePending>();
}

int local_rank() {
  return env_int("OMPI_COMM_WORLD_LOCAL_RANK", env_int("SLURM_LOCALID", env_int("PMIX_LOCAL_RANK", env_int("MPI_LOCALRANKID", 0))));
}

int launcher_rank() {
  return env_int("OMPI_COMM_WORLD_RANK", env_int("PMIX_RANK", env_int("SLURM_PROCID", env_int("PMI_RANK", 0))));
}

int launcher_world_size() {
  return env_int("OMPI_COMM_WORLD_SIZE", env_int("PMIX_SIZE", env_int("SLURM_NTASKS", env_int("PMI_SIZE", 1))));
}

std::unique_ptr<Communicator> make_communicator(const std::string& kind, Context* ctx) {
  const bool launched = launcher_world_size() > 1;
  std::string k = kind;
  if (k == "auto") k = !launched ? "single" : (ctx && ctx->is_cuda() ? "nccl" : "mpi");
  if (k == "single") return std::make_unique<SingleCommunicator>();
  if (k == "mpi") {
#if defined(CMT_WITH_MPI)
    return std::make_unique<MpiCommunicator>();
#else
    CMT_THROW("communicator 'mpi' requested but cmt was built without MPI (CMT_WITH_MPI=OFF)");
#endif
  }
  if (k == "nccl") {
#if defined(CMT_WITH_NCCL) && defined(CMT_WITH_MPI)
    CMT_CHECK(ctx != nullptr, "communicator 'nccl' needs a CUDA context");
    return std::make_unique<NcclCommunicator>(*ctx);
#else
    CMT_THROW("communicator 'nccl' requested but cmt was built without NCCL and MPI");
#endif
  }
  CMT_THROW("unknown communicator '" << kind << "' (expected auto, single, mpi or nccl)");
}

}  // namespace cmt
