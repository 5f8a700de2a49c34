// The device allocator under a training-like loop: after a warm-up, steps of the same shapes take
// every block from the cache. (Op results against the CPU are rows of tests/ops.)
#include "engine/allocator.h"
#include "engine/ops/basic.h"
#include "support/testing.h"

using namespace cmt;

TEST_CASE("repeated same-shape steps make zero new device allocations") {
  Context gpu(Device::cuda(0));
  // The allocator's reuse does not depend on the size: smaller on the emulator (still many blocks).
  const Shape shape{test::on_emulator(8, 4), 32, 32, 32, 4};
  auto step = [&] {
    Tensor a = Tensor::empty(shape, DType::f32, gpu.device());
    Tensor b = Tensor::empty(shape, DType::f32, gpu.device());
    ops::uniform_(gpu, a, 1, 1);
    ops::fill(gpu, b, 1.0);
    ops::axpy(gpu, 2.f, a, b);
    Tensor h = ops::cast(gpu, b, DType::bf16);
    Tensor s = ops::sum(gpu, b);
    return s;
  };
  ops::item(step());  // warm-up: fills the cache and the workspace
  const AllocatorStats before = device_allocator(0).stats();
  for (int i = 0; i < test::on_emulator(10, 3); ++i) step();
  gpu.synchronize();
  const AllocatorStats after = device_allocator(0).stats();
  CHECK(after.raw_allocations == before.raw_allocations);
  CHECK(after.requests - before.requests == after.cache_hits - before.cache_hits);
  CHECK(after.requests > before.requests);
}
