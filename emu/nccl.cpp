// The emulated NCCL: communicators over MPI (one MPI process per rank and emulated device).
// Every call checks NCCL's contract on the host and stops the process with a clear message when it
// is broken (buffers that are not device memory of the full extent, bad count/type/op/root/stream,
// ranks that disagree on a collective); a collective is queued on its stream and performed with MPI
// when the stream's work runs. One rank needs no MPI at all (as NCCL needs no peers).
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1  // the C API only
#endif
#include <mpi.h>
#include <nccl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include <unistd.h>

#include "emu/internal.h"

using cmt::emu::fail_host;

namespace {

constexpr char kMagic[] = "cmt-emu-nccl-id";  // starts every id from ncclGetUniqueId
constexpr std::size_t kMagicBytes = sizeof(kMagic);

// What every rank must agree on per collective (NCCL: same calls, same order, same arguments).
enum Kind : std::int64_t { kAllReduce = 1, kAllGather = 2, kBroadcast = 3 };
constexpr const char* kind_name(std::int64_t k) {
  return k == kAllReduce ? "ncclAllReduce" : k == kAllGather ? "ncclAllGather" : k == kBroadcast ? "ncclBroadcast" : "?";
}
struct Signature {
  std::int64_t seq, kind, count, datatype, op, root;
};

struct State {
  MPI_Comm mpi = MPI_COMM_NULL;  // null with one rank
  int rank = 0, nranks = 1, device = 0;
  std::atomic<bool> aborted{false};
  // Issue order (NCCL runs one communicator's collectives in the order they were issued, whatever
  // their streams): the count so far, and an event recorded after the last one on its stream.
  std::mutex issue_mutex;
  std::int64_t issued = 0;
  cudaEvent_t last = nullptr;
  cudaStream_t last_stream = nullptr;
  ~State() {
    // After an abort a peer may be gone: leak the MPI communicator rather than risk a hang.
    if (mpi == MPI_COMM_NULL || aborted) return;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&mpi);
  }
};

}  // namespace

struct ncclComm {
  std::shared_ptr<State> state;  // queued collectives hold it too, so destroy may precede them
};

namespace {

std::mutex g_mutex;
std::unordered_set<const ncclComm*>& live_comms() {
  static auto* s = new std::unordered_set<const ncclComm*>;  // never destroyed: used at exit
  return *s;
}

std::shared_ptr<State> live_state(const ncclComm* comm, const char* who) {
  if (!comm) fail_host("%s: comm is null (ncclCommInitRank did not run or failed)", who);
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!live_comms().count(comm)) fail_host("%s: comm %p is not a live communicator (destroyed, aborted or never initialised)", who, static_cast<const void*>(comm));
  return comm->state;
}

std::size_t type_size(ncclDataType_t t) {
  switch (t) {
    case ncclInt8: case ncclUint8: case ncclFloat8e4m3: case ncclFloat8e5m2: return 1;
    case ncclFloat16: case ncclBfloat16: return 2;
    case ncclInt32: case ncclUint32: case ncclFloat32: return 4;
    case ncclInt64: case ncclUint64: case ncclFloat64: return 8;
    default: return 0;
  }
}

std::size_t checked_bytes(std::size_t count, ncclDataType_t t, const char* who) {
  const std::size_t size = type_size(t);
  if (size == 0) fail_host("%s: datatype %d is not an ncclDataType_t", who, static_cast<int>(t));
  if (count > SIZE_MAX / size) fail_host("%s: count %zu of datatype %d overflows the byte size", who, count, static_cast<int>(t));
  return count * size;
}

void check_stream(cudaStream_t stream, const char* who) {
  if (!cmt::emu::is_valid_stream(stream)) fail_host("%s: stream %p is not a valid stream (destroyed or never created)", who, static_cast<void*>(stream));
}

// NCCL allows exactly in place or disjoint buffers; a partial overlap races on the GPU.
void check_disjoint(const void* a, std::size_t an, const void* b, std::size_t bn, const char* who, const char* in_place) {
  const auto x = reinterpret_cast<std::uintptr_t>(a), y = reinterpret_cast<std::uintptr_t>(b);
  if (x < y + bn && y < x + an)
    fail_host("%s: sendbuff [%p, +%zu) and recvbuff [%p, +%zu) overlap without being in place (in place is %s)", who, a, an, b, bn, in_place);
}

void mpi_ok(int rc, const char* who, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  fail_host("%s: %s failed: %.*s", who, call, len, text);
}

// Cross-rank agreement: max of v and of ~v (its min) over the ranks; all ranks see the same result.
template <std::size_t N>
bool agree(MPI_Comm comm, const std::uint64_t (&v)[N], std::uint64_t (&lo)[N], std::uint64_t (&hi)[N], const char* who) {
  std::uint64_t in[2 * N], out[2 * N];
  for (std::size_t i = 0; i < N; ++i) {
    in[i] = v[i];
    in[N + i] = ~v[i];
  }
  mpi_ok(MPI_Allreduce(in, out, static_cast<int>(2 * N), MPI_UINT64_T, MPI_MAX, comm), who, "MPI_Allreduce (agreement check)");
  bool same = true;
  for (std::size_t i = 0; i < N; ++i) {
    hi[i] = out[i];
    lo[i] = ~out[N + i];
    same = same && lo[i] == hi[i];
  }
  return same;
}

void check_same_collective(const State& s, const Signature& sig, const char* who) {
  const std::uint64_t v[6] = {static_cast<std::uint64_t>(sig.seq),   static_cast<std::uint64_t>(sig.kind),
                              static_cast<std::uint64_t>(sig.count), static_cast<std::uint64_t>(sig.datatype),
                              static_cast<std::uint64_t>(sig.op),    static_cast<std::uint64_t>(sig.root)};
  std::uint64_t lo[6], hi[6];
  if (agree(s.mpi, v, lo, hi, who)) return;
  fail_host("%s (rank %d, collective #%lld on this communicator): the ranks disagree on the collective: "
            "sequence %llu..%llu, call %s..%s, count %llu..%llu, datatype %llu..%llu, op %llu..%llu, root %lld..%lld; NCCL requires every "
            "rank to issue the same collectives in the same order with the same count, datatype, op and root",
            who, s.rank, static_cast<long long>(sig.seq), static_cast<unsigned long long>(lo[0]), static_cast<unsigned long long>(hi[0]),
            kind_name(static_cast<std::int64_t>(lo[1])), kind_name(static_cast<std::int64_t>(hi[1])), static_cast<unsigned long long>(lo[2]),
            static_cast<unsigned long long>(hi[2]), static_cast<unsigned long long>(lo[3]), static_cast<unsigned long long>(hi[3]),
            static_cast<unsigned long long>(lo[4]), static_cast<unsigned long long>(hi[4]), static_cast<long long>(lo[5]),
            static_cast<long long>(hi[5]));
}

// Queues body on stream; when it runs, the ranks first check that they perform the same collective.
ncclResult_t submit(cudaStream_t stream, const char* who, const std::shared_ptr<State>& st, Signature sig,
                    std::function<void(State&)> body) {
  std::lock_guard<std::mutex> lock(st->issue_mutex);
  const auto cuda_failed = [&](const char* call, cudaError_t e) {
    std::fprintf(stderr, "cmt emulator: %s: %s on stream %p failed: %s\n", who, call, static_cast<void*>(stream), cudaGetErrorString(e));
    return ncclUnhandledCudaError;
  };
  // After the previous collective, also when that was on another stream (a graph capture records
  // its own order).
  const bool capturing = cmt::emu::is_capturing(stream);
  if (!capturing && st->last && st->last_stream != stream)
    if (const cudaError_t e = cudaStreamWaitEvent(stream, st->last, 0); e != cudaSuccess) return cuda_failed("cudaStreamWaitEvent", e);
  sig.seq = st->issued++;
  const cudaError_t e = cmt::emu::enqueue(stream, who, [st, sig, who, body = std::move(body)] {
    if (st->aborted) return;  // NCCL drops an aborted communicator's outstanding work
    if (st->nranks > 1) check_same_collective(*st, sig, who);
    body(*st);
  });
  if (e != cudaSuccess) return cuda_failed("queueing", e);
  if (!capturing) {
    if (!st->last)
      if (const cudaError_t c = cudaEventCreateWithFlags(&st->last, cudaEventDisableTiming); c != cudaSuccess) return cuda_failed("cudaEventCreate", c);
    if (const cudaError_t r = cudaEventRecord(st->last, stream); r != cudaSuccess) return cuda_failed("cudaEventRecord", r);
    st->last_stream = stream;
  }
  return ncclSuccess;
}

// ---- element conversions for the half types (reduced in float, rounded back to nearest even)
float bf16_to_float(std::uint16_t h) {
  const std::uint32_t u = static_cast<std::uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
std::uint16_t float_to_bf16(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu)) return static_cast<std::uint16_t>((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<std::uint16_t>(u >> 16);
}
float fp16_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, u;
  if (exp == 0x1f) {
    u = sign | 0x7f800000u | (man << 13);
  } else if (exp == 0) {
    if (man == 0) {
      u = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        man <<= 1;
      } while (!(man & 0x400u));
      u = sign | static_cast<std::uint32_t>(127 - 15 - e) << 23 | (man & 0x3ffu) << 13;
    }
  } else {
    u = sign | (exp + 112) << 23 | man << 13;
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
std::uint16_t float_to_fp16(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  const std::uint16_t sign = static_cast<std::uint16_t>((u >> 16) & 0x8000u);
  const std::uint32_t abs = u & 0x7fffffffu;
  if (abs >= 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  if (abs >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // rounds past 65504: inf
  if (abs < 0x38800000u) {  // subnormal or zero in fp16
    const int shift = 126 - static_cast<int>(abs >> 23);  // value = man * 2^-24 >> shift
    if (shift > 25) return sign;                            // below half the least subnormal
    const std::uint32_t man = (abs & 0x7fffffu) | 0x800000u;
    const std::uint32_t q = man >> shift, rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
    return static_cast<std::uint16_t>(sign | (q + (rem > half || (rem == half && (q & 1u)))));
  }
  const std::uint32_t r = abs + 0xfffu + ((abs >> 13) & 1u) - 0x38000000u;
  return static_cast<std::uint16_t>(sign | (r >> 13));
}

MPI_Datatype mpi_type(ncclDataType_t t) {
  switch (t) {
    case ncclInt8: return MPI_INT8_T;
    case ncclUint8: return MPI_UINT8_T;
    case ncclInt32: return MPI_INT32_T;
    case ncclUint32: return MPI_UINT32_T;
    case ncclInt64: return MPI_INT64_T;
    case ncclUint64: return MPI_UINT64_T;
    case ncclFloat32: return MPI_FLOAT;
    case ncclFloat64: return MPI_DOUBLE;
    default: return MPI_DATATYPE_NULL;  // the half types are reduced in float
  }
}
MPI_Op mpi_op(ncclRedOp_t op) {
  switch (op) {
    case ncclProd: return MPI_PROD;
    case ncclMax: return MPI_MAX;
    case ncclMin: return MPI_MIN;
    default: return MPI_SUM;  // ncclSum, and ncclAvg (divided afterwards)
  }
}

constexpr std::size_t kChunk = std::size_t{1} << 28;  // elements per MPI call (MPI counts are int)

void allreduce_native(State& s, const void* send, void* recv, std::size_t count, MPI_Datatype type, std::size_t size, MPI_Op op,
                      const char* who) {
  for (std::size_t off = 0; off < count; off += kChunk) {
    const int n = static_cast<int>(std::min(kChunk, count - off));
    char* r = static_cast<char*>(recv) + off * size;
    const void* snd = send == recv ? MPI_IN_PLACE : static_cast<const char*>(send) + off * size;
    mpi_ok(MPI_Allreduce(snd, r, n, type, op, s.mpi), who, "MPI_Allreduce");
  }
}

template <typename T>
void divide(void* p, std::size_t count, int n) {
  T* v = static_cast<T*>(p);
  for (std::size_t i = 0; i < count; ++i) v[i] = static_cast<T>(v[i] / static_cast<T>(n));
}

void run_allreduce(State& s, const void* send, void* recv, std::size_t count, ncclDataType_t t, ncclRedOp_t op, const char* who) {
  const std::size_t size = type_size(t);
  if (t == ncclFloat16 || t == ncclBfloat16) {
    const bool bf = t == ncclBfloat16;
    const auto* in = static_cast<const std::uint16_t*>(send);
    std::vector<float> f(count);
    for (std::size_t i = 0; i < count; ++i) f[i] = bf ? bf16_to_float(in[i]) : fp16_to_float(in[i]);
    if (s.nranks > 1) allreduce_native(s, f.data(), f.data(), count, MPI_FLOAT, 4, mpi_op(op), who);
    if (op == ncclAvg) divide<float>(f.data(), count, s.nranks);
    auto* out = static_cast<std::uint16_t*>(recv);
    for (std::size_t i = 0; i < count; ++i) out[i] = bf ? float_to_bf16(f[i]) : float_to_fp16(f[i]);
    return;
  }
  if (s.nranks == 1) {
    if (send != recv) std::memcpy(recv, send, count * size);
    return;
  }
  allreduce_native(s, send, recv, count, mpi_type(t), size, mpi_op(op), who);
  if (op != ncclAvg) return;
  switch (t) {
    case ncclInt8: divide<std::int8_t>(recv, count, s.nranks); break;
    case ncclUint8: divide<std::uint8_t>(recv, count, s.nranks); break;
    case ncclInt32: divide<std::int32_t>(recv, count, s.nranks); break;
    case ncclUint32: divide<std::uint32_t>(recv, count, s.nranks); break;
    case ncclInt64: divide<std::int64_t>(recv, count, s.nranks); break;
    case ncclUint64: divide<std::uint64_t>(recv, count, s.nranks); break;
    case ncclFloat32: divide<float>(recv, count, s.nranks); break;
    case ncclFloat64: divide<double>(recv, count, s.nranks); break;
    default: break;
  }
}

std::uint64_t fnv1a(const void* p, std::size_t n) {
  std::uint64_t h = 1469598103934665603ull;
  for (std::size_t i = 0; i < n; ++i) h = (h ^ static_cast<const unsigned char*>(p)[i]) * 1099511628211ull;
  return h;
}

ncclComm_t make_comm(std::shared_ptr<State> st) {
  auto* c = new ncclComm{std::move(st)};
  std::lock_guard<std::mutex> lock(g_mutex);
  live_comms().insert(c);
  return c;
}

// Takes comm out of the live set (fails on a second release: NCCL would use freed memory).
void release(ncclComm_t comm, const char* who) {
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (!live_comms().erase(comm))
      fail_host("%s: comm %p is not a live communicator (destroyed or aborted already, or never initialised)", who, static_cast<void*>(comm));
  }
  // The issue-order event is left alive: its last record may still be queued.
  delete comm;
}

}  // namespace

extern "C" {

ncclResult_t ncclGetVersion(int* version) {
  if (!version) fail_host("ncclGetVersion: version is null");
  *version = NCCL_VERSION_CODE;
  return ncclSuccess;
}

const char* ncclGetErrorString(ncclResult_t result) {
  switch (result) {
    case ncclSuccess: return "no error";
    case ncclUnhandledCudaError: return "unhandled cuda error (run with NCCL_DEBUG=INFO for details)";
    case ncclSystemError: return "unhandled system error (run with NCCL_DEBUG=INFO for details)";
    case ncclInternalError: return "internal error - please report this issue to the NCCL developers";
    case ncclInvalidArgument: return "invalid argument (run with NCCL_DEBUG=WARN for details)";
    case ncclInvalidUsage: return "invalid usage (run with NCCL_DEBUG=WARN for details)";
    case ncclRemoteError: return "remote process exited or there was a network error";
    case ncclInProgress: return "NCCL operation in progress";
    default: return "unknown result code";
  }
}

const char* ncclGetLastError(ncclComm_t) { return ""; }

ncclResult_t ncclGetUniqueId(ncclUniqueId* id) {
  if (!id) fail_host("ncclGetUniqueId: uniqueId is null");
  std::memset(id->internal, 0, sizeof(id->internal));
  std::memcpy(id->internal, kMagic, kMagicBytes);
  std::random_device rd;
  std::seed_seq seed{rd(), rd(), static_cast<unsigned>(getpid()),
                     static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count())};
  std::mt19937_64 gen(seed);
  for (std::size_t i = kMagicBytes; i + 8 <= sizeof(id->internal); i += 8) {
    const std::uint64_t r = gen();
    std::memcpy(id->internal + i, &r, 8);
  }
  return ncclSuccess;
}

ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId id, int rank) {
  const char* who = "ncclCommInitRank";
  if (!comm) fail_host("%s: comm is null", who);
  if (nranks < 1 || rank < 0 || rank >= nranks) fail_host("%s: rank %d of nranks %d is out of range", who, rank, nranks);
  const bool magic_ok = std::memcmp(id.internal, kMagic, kMagicBytes) == 0;
  auto st = std::make_shared<State>();
  st->rank = rank;
  st->nranks = nranks;
  if (cudaGetDevice(&st->device) != cudaSuccess) fail_host("%s: cudaGetDevice failed", who);
  if (nranks == 1) {
    if (!magic_ok) fail_host("%s: the unique id was not made by ncclGetUniqueId", who);
    *comm = make_comm(std::move(st));
    return ncclSuccess;
  }
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (!initialized || finalized)
    fail_host("%s: %d ranks need MPI, which is %s: the emulated NCCL performs its collectives over MPI (one process per rank); "
              "initialise MPI before creating the communicator", who, nranks, finalized ? "finalised already" : "not initialised");
  int world_size = 0, world_rank = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &world_size);
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  // Collective checks first, so that every rank fails alike instead of some waiting forever.
  const std::uint64_t v[3] = {fnv1a(id.internal, sizeof(id.internal)), static_cast<std::uint64_t>(nranks), magic_ok ? 1u : 0u};
  std::uint64_t lo[3], hi[3];
  agree(MPI_COMM_WORLD, v, lo, hi, who);
  if (lo[2] == 0)
    fail_host("%s (MPI rank %d): %s unique id was not made by ncclGetUniqueId (or not broadcast from the rank that made it)", who,
              world_rank, magic_ok ? "another rank's" : "this rank's");
  if (lo[0] != hi[0]) fail_host("%s (MPI rank %d): the ranks passed different unique ids (every rank must pass the one id made by one rank)", who, world_rank);
  if (lo[1] != hi[1])
    fail_host("%s (MPI rank %d): the ranks passed different nranks (%llu..%llu)", who, world_rank, static_cast<unsigned long long>(lo[1]),
              static_cast<unsigned long long>(hi[1]));
  if (nranks != world_size)
    fail_host("%s: nranks %d differs from the %d MPI ranks; the emulated NCCL makes communicators over all MPI ranks only", who, nranks, world_size);
  // Ordered by NCCL rank; distinct ranks 0..n-1 land on their own positions.
  mpi_ok(MPI_Comm_split(MPI_COMM_WORLD, 0, rank, &st->mpi), who, "MPI_Comm_split");
  MPI_Comm_set_errhandler(st->mpi, MPI_ERRORS_RETURN);
  int pos = -1;
  MPI_Comm_rank(st->mpi, &pos);
  const std::uint64_t misplaced[1] = {pos != rank ? 1u : 0u};
  std::uint64_t mlo[1], mhi[1];
  agree(st->mpi, misplaced, mlo, mhi, who);
  if (mhi[0] != 0) fail_host("%s: the ranks passed to the processes are not distinct (every rank 0..%d exactly once); this process passed %d", who, nranks - 1, rank);
  *comm = make_comm(std::move(st));
  return ncclSuccess;
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  if (!comm) return ncclSuccess;  // as NCCL
  release(comm, "ncclCommDestroy");
  return ncclSuccess;
}

ncclResult_t ncclCommAbort(ncclComm_t comm) {
  if (!comm) return ncclSuccess;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (live_comms().count(comm)) comm->state->aborted = true;
  }
  release(comm, "ncclCommAbort");
  return ncclSuccess;
}

ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t* asyncError) {
  (void)live_state(comm, "ncclCommGetAsyncError");
  if (!asyncError) fail_host("ncclCommGetAsyncError: asyncError is null");
  *asyncError = ncclSuccess;  // MPI errors stop the process where they happen
  return ncclSuccess;
}

ncclResult_t ncclCommCount(const ncclComm_t comm, int* count) {
  const auto st = live_state(comm, "ncclCommCount");
  if (!count) fail_host("ncclCommCount: count is null");
  *count = st->nranks;
  return ncclSuccess;
}

ncclResult_t ncclCommUserRank(const ncclComm_t comm, int* rank) {
  const auto st = live_state(comm, "ncclCommUserRank");
  if (!rank) fail_host("ncclCommUserRank: rank is null");
  *rank = st->rank;
  return ncclSuccess;
}

ncclResult_t ncclAllReduce(const void* sendbuff, void* recvbuff, std::size_t count, ncclDataType_t datatype, ncclRedOp_t op,
                           ncclComm_t comm, cudaStream_t stream) {
  const char* who = "ncclAllReduce";
  auto st = live_state(comm, who);
  const std::size_t bytes = checked_bytes(count, datatype, who);
  if (static_cast<int>(op) < 0 || op >= ncclNumOps) fail_host("%s: op %d is not an ncclRedOp_t", who, static_cast<int>(op));
  if (datatype == ncclFloat8e4m3 || datatype == ncclFloat8e5m2) fail_host("%s: fp8 reductions are not emulated", who);
  check_stream(stream, who);
  if (count == 0) return ncclSuccess;
  cmt::emu::require_device_range(sendbuff, bytes, who, "sendbuff");
  cmt::emu::require_device_range(recvbuff, bytes, who, "recvbuff");
  if (sendbuff != recvbuff) check_disjoint(sendbuff, bytes, recvbuff, bytes, who, "sendbuff == recvbuff");
  return submit(stream, who, st, {0, kAllReduce, static_cast<std::int64_t>(count), datatype, op, -1},
                [=](State& s) { run_allreduce(s, sendbuff, recvbuff, count, datatype, op, who); });
}

ncclResult_t ncclAllGather(const void* sendbuff, void* recvbuff, std::size_t sendcount, ncclDataType_t datatype, ncclComm_t comm,
                           cudaStream_t stream) {
  const char* who = "ncclAllGather";
  auto st = live_state(comm, who);
  const std::size_t bytes = checked_bytes(sendcount, datatype, who);
  if (bytes > SIZE_MAX / static_cast<std::size_t>(st->nranks)) fail_host("%s: sendcount %zu x %d ranks overflows the byte size", who, sendcount, st->nranks);
  const std::size_t total = bytes * static_cast<std::size_t>(st->nranks);
  check_stream(stream, who);
  if (sendcount == 0) return ncclSuccess;
  if (bytes > static_cast<std::size_t>(INT_MAX)) fail_host("%s: %zu bytes per rank: the emulator gathers at most %d bytes per rank", who, bytes, INT_MAX);
  cmt::emu::require_device_range(sendbuff, bytes, who, "sendbuff");
  cmt::emu::require_device_range(recvbuff, total, who, "recvbuff (nranks x sendcount elements)");
  const char* own = static_cast<const char*>(recvbuff) + bytes * static_cast<std::size_t>(st->rank);
  const bool in_place = sendbuff == own;
  if (!in_place) check_disjoint(sendbuff, bytes, recvbuff, total, who, "sendbuff == recvbuff + rank * sendcount");
  return submit(stream, who, st, {0, kAllGather, static_cast<std::int64_t>(sendcount), datatype, -1, -1}, [=](State& s) {
    if (s.nranks == 1) {
      if (!in_place) std::memcpy(recvbuff, sendbuff, bytes);
      return;
    }
    const int n = static_cast<int>(bytes);
    mpi_ok(MPI_Allgather(in_place ? MPI_IN_PLACE : sendbuff, n, MPI_BYTE, recvbuff, n, MPI_BYTE, s.mpi), who, "MPI_Allgather");
  });
}

ncclResult_t ncclBroadcast(const void* sendbuff, void* recvbuff, std::size_t count, ncclDataType_t datatype, int root, ncclComm_t comm,
                           cudaStream_t stream) {
  const char* who = "ncclBroadcast";
  auto st = live_state(comm, who);
  const std::size_t bytes = checked_bytes(count, datatype, who);
  if (root < 0 || root >= st->nranks) fail_host("%s: root %d is not a rank of this %d-rank communicator", who, root, st->nranks);
  check_stream(stream, who);
  if (count == 0) return ncclSuccess;
  const bool is_root = st->rank == root;
  if (is_root) cmt::emu::require_device_range(sendbuff, bytes, who, "sendbuff (on the root)");
  cmt::emu::require_device_range(recvbuff, bytes, who, "recvbuff");
  if (is_root && sendbuff != recvbuff) check_disjoint(sendbuff, bytes, recvbuff, bytes, who, "sendbuff == recvbuff");
  return submit(stream, who, st, {0, kBroadcast, static_cast<std::int64_t>(count), datatype, -1, root}, [=](State& s) {
    if (is_root && sendbuff != recvbuff) std::memcpy(recvbuff, sendbuff, bytes);
    if (s.nranks == 1) return;
    for (std::size_t off = 0; off < bytes; off += kChunk) {
      const int n = static_cast<int>(std::min(kChunk, bytes - off));
      mpi_ok(MPI_Bcast(static_cast<char*>(recvbuff) + off, n, MPI_BYTE, root, s.mpi), who, "MPI_Bcast");
    }
  });
}

}  // extern "C"
