// Communicator: collectives for data parallelism. Implementations: single process; MPI (CPU
// tensors, CUDA tensors staged through the host); NCCL (CUDA tensors; the unique id is broadcast over
// MPI; a single process needs no MPI). Launch with the cluster's own tools (mpirun, srun); the rank
// and size come from MPI. Design and failure handling: docs/distributed.md.
#pragma once
#include <memory>
#include <string>

#include "engine/context.h"
#include "engine/tensor.h"

namespace cmt {

// A collective started by an *_async call. wait() completes it; on CUDA it also orders the
// context's compute stream after it.
class PendingCollective {
 public:
  virtual ~PendingCollective() = default;
  virtual void wait(Context& ctx) = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual std::string name() const = 0;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual void all_reduce_sum(Context& ctx, Tensor& t) = 0;                 // f32, in place
  // Starts an all-reduce that may overlap later work on ctx (gradient buckets); `t` must not be
  // touched until wait(). The default completes it at once.
  virtual std::unique_ptr<PendingCollective> all_reduce_sum_async(Context& ctx, Tensor& t);
  virtual Tensor all_gather_rows(Context& ctx, const Tensor& local) = 0;    // equal rows per rank, concat on dim 0
  virtual void broadcast(Context& ctx, Tensor& t, int root) = 0;            // f32, in place
  virtual double all_reduce_scalar(double value) = 0;                       // sum over ranks
  virtual void barrier() = 0;
  // Ends every rank of the job at once (MPI_Abort) after printing `why`; returns on a single process.
  virtual void abort_job(const std::string& why, int code = 1) = 0;
  // A collective still waiting after this many seconds (a rank died or hangs) aborts the whole job
  // with a clear message (0: never).
  virtual void set_timeout(double seconds) { timeout_s_ = seconds; }
  double timeout() const { return timeout_s_; }

 protected:
  double timeout_s_ = 600;
};

// kind: auto (NCCL for CUDA contexts under MPI with size > 1, MPI for CPU, else single), single,
// mpi, nccl. The local rank (for picking a GPU) comes from OMPI_COMM_WORLD_LOCAL_RANK,
// SLURM_LOCALID or PMIX_LOCAL_RANK (local_rank()).
std::unique_ptr<Communicator> make_communicator(const std::string& kind, Context* ctx);
int local_rank();
// Rank/size as the launcher announced them (before any MPI call): OpenMPI, Slurm or PMIx variables.
int launcher_world_size();
int launcher_rank();

}  // namespace cmt
