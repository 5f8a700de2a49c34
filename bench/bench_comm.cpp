// bench/comm: all-reduce time and bandwidth of the communicator (NCCL on a GPU, MPI on CPUs) over
// message sizes up to a ResNet-50 gradient block, against a device copy of the same bytes measured in
// the same run. Run alone (world size 1) or under mpirun/srun (every rank runs it; rank 0 reports).
#include <cstring>
#include <sstream>

#include "bench/common/timing.h"
#include "engine/communicator.h"
#include "engine/cuda_runtime.h"
#include "engine/ops/basic.h"

using namespace cmt;

int main(int argc, char** argv) {
  std::string device_arg = "auto", comm_kind = "auto";
  std::vector<std::int64_t> mib = {1, 16, 100, 256};  // 100 MiB ~ ResNet-50's 25.6 M f32 gradients
  int runs = 20;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--device" && i + 1 < argc) device_arg = argv[++i];
    else if (a == "--comm" && i + 1 < argc) comm_kind = argv[++i];
    else if (a == "--runs" && i + 1 < argc) runs = std::stoi(argv[++i]);
    else if (a == "--mib" && i + 1 < argc) {
      mib.clear();
      std::stringstream ss(argv[++i]);
      for (std::string item; std::getline(ss, item, ',');) mib.push_back(std::stoll(item));
    } else {
      std::fprintf(stderr, "usage: %s [--device auto|cpu|cuda:N] [--comm auto|single|mpi|nccl] [--mib 1,16,100] [--runs N]\n", argv[0]);
      return 2;
    }
  }
  try {
    Device device = resolve_device(device_arg);
    if (device.is_cuda() && launcher_world_size() > 1) device = Device::cuda(local_rank() % cuda_status().device_count);
    if (device.is_cpu() && device_arg == "auto") {
      std::printf("no GPU: a small CPU/MPI measurement only (1 and 16 MiB)\n");
      mib = {1, 16};
      runs = std::min(runs, 5);
    }
    Context ctx(device);
    // A GPU run with world size 1 still takes the NCCL path (the point of the GPU check).
    if (comm_kind == "auto") comm_kind = device.is_cuda() ? "nccl" : (launcher_world_size() > 1 ? "mpi" : "single");
    const std::unique_ptr<Communicator> comm = make_communicator(comm_kind, &ctx);
    comm->set_timeout(120);
    const int n = comm->size();
    nlohmann::json report = bench::report_header(ctx, "comm");
    report["communicator"] = comm->name();
    report["world_size"] = n;
    report["note"] = "busbw = algbw * 2(n-1)/n (nccl-tests' convention; 0 on one rank, where algbw is the figure)";
    if (comm->rank() == 0)
      std::printf("%-8s %8s %12s %12s %12s %14s\n", "comm", "MiB", "median ms", "algbw GB/s", "busbw GB/s", "copy GB/s");
    for (const std::int64_t m : mib) {
      const std::int64_t count = m * (1 << 20) / 4;
      Tensor t = Tensor::empty(Shape{count}, DType::f32, device), dst = Tensor::empty(Shape{count}, DType::f32, device);
      ops::fill(ctx, t, 1.0);
      ops::fill(ctx, dst, 0.0);
      // Host timing for both: the communicator waits for every collective (its failure watchdog).
      comm->barrier();
      const bench::Timing ar = bench::time_host([&] { comm->all_reduce_sum(ctx, t); }, 2, runs);
      const bench::Timing cp = bench::time_host(
          [&] {
            ops::copy(ctx, t, dst);
            ctx.synchronize();
          },
          2, runs);
      const double bytes = static_cast<double>(count) * 4;
      const double algbw = bytes / (ar.median_ms * 1e-3) / 1e9;
      const double busbw = algbw * 2.0 * (n - 1) / n;
      const double copybw = 2 * bytes / (cp.median_ms * 1e-3) / 1e9;  // read + write
      if (comm->rank() == 0)
        std::printf("%-8s %8lld %12.3f %12.1f %12.1f %14.1f\n", comm->name().c_str(), static_cast<long long>(m), ar.median_ms, algbw, busbw,
                    copybw);
      report["rows"].push_back({{"mib", m}, {"median_ms", ar.median_ms}, {"min_ms", ar.min_ms}, {"algbw_gbps", algbw},
                                {"busbw_gbps", busbw}, {"copy_median_ms", cp.median_ms}, {"copy_gbps", copybw}});
    }
    if (comm->rank() == 0) bench::write_report(report, "comm");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cmt_bench_comm: %s\n", e.what());
    return 1;
  }
}
