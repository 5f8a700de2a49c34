// CUDA pooling: one thread per output (forward) or input (average backward) element, channels fastest so
// neighbouring threads read neighbouring addresses; the average backward passes gather in the CPU's order.
// T = float or std::uint16_t (bf16 bits): loads widen to float, sums run in float, each result is rounded once.
#include <cuda_runtime.h>

#include <type_traits>

#include "kernels/basic.h"
#include "kernels/cuda/portable.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/pool.h"

namespace cmt::cuda {

namespace {

// Splits a flat index over (n, a, b, e, c) of extents (., s0, s1, s2, c).
struct Pos {
  std::int64_t n, c;
  int p[3];
};
__device__ __forceinline__ Pos split(std::int64_t i, const int* ext, std::int64_t c) {
  Pos r;
  r.c = i % c;
  i /= c;
  r.p[2] = static_cast<int>(i % ext[2]);
  i /= ext[2];
  r.p[1] = static_cast<int>(i % ext[1]);
  i /= ext[1];
  r.p[0] = static_cast<int>(i % ext[0]);
  r.n = i / ext[0];
  return r;
}

__device__ __forceinline__ std::int64_t out_at(const PoolDesc& d, std::int64_t n, int a, int b, int e, std::int64_t c) {
  return (((n * d.out[0] + a) * d.out[1] + b) * d.out[2] + e) * d.c + c;
}

template <bool Max, typename T>
__global__ void window_forward_kernel(PoolDesc d, const T* __restrict__ x, T* __restrict__ y,
                                      std::int32_t* __restrict__ argmax) {
  const std::int64_t total = d.n * d.out_volume() * d.c;
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < total; i += std::int64_t{gridDim.x} * blockDim.x) {
    const Pos o = split(i, d.out, d.c);
    int lo[3], hi[3];
    for (int a = 0; a < 3; ++a) {
      const int start = o.p[a] * d.s[a] - d.p[a];
      lo[a] = max(start, 0);
      hi[a] = min(start + d.k[a], d.in[a]);
    }
    const T* xn = x + o.n * d.in_volume() * d.c + o.c;
    float acc = Max ? -INFINITY : 0.f;
    std::int32_t arg = (lo[0] * d.in[1] + lo[1]) * d.in[2] + lo[2];
    for (int a = lo[0]; a < hi[0]; ++a)
      for (int b = lo[1]; b < hi[1]; ++b)
        for (int e = lo[2]; e < hi[2]; ++e) {
          const std::int32_t idx = (a * d.in[1] + b) * d.in[2] + e;
          const float v = elem::load(xn[static_cast<std::int64_t>(idx) * d.c]);
          if constexpr (Max) {
            if (v > acc || isnan(v)) {
              acc = v;
              arg = idx;
            }
          } else {
            acc += v;
          }
        }
    if constexpr (Max) {
      elem::store(y[i], acc);
      argmax[i] = arg;
    } else {
      elem::store(y[i], acc * (1.0f / static_cast<float>(d.k[0] * d.k[1] * d.k[2])));
    }
  }
}

// Gather, one thread per input element: overlapping windows that picked the same input add in output
// order (a scatter with atomics would add in whatever order the hardware runs them).
template <typename T>
__global__ void max_backward_kernel(PoolDesc d, const T* __restrict__ dy, const std::int32_t* __restrict__ argmax,
                                    T* __restrict__ dx) {
  const std::int64_t total = d.n * d.in_volume() * d.c;
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < total; i += std::int64_t{gridDim.x} * blockDim.x) {
    const Pos q = split(i, d.in, d.c);
    const std::int32_t self = (q.p[0] * d.in[1] + q.p[1]) * d.in[2] + q.p[2];
    int lo[3], hi[3];
    for (int a = 0; a < 3; ++a) pool_out_range(q.p[a], d.k[a], d.s[a], d.p[a], d.out[a], lo[a], hi[a]);
    float acc = 0.f;
    for (int a = lo[0]; a < hi[0]; ++a)
      for (int b = lo[1]; b < hi[1]; ++b)
        for (int e = lo[2]; e < hi[2]; ++e) {
          const std::int64_t o = out_at(d, q.n, a, b, e, q.c);
          if (argmax[o] == self) acc += elem::load(dy[o]);
        }
    elem::store(dx[i], acc);
  }
}

template <typename T>
__global__ void avg_backward_kernel(PoolDesc d, const T* __restrict__ dy, T* __restrict__ dx) {
  const std::int64_t total = d.n * d.in_volume() * d.c;
  const float inv = 1.0f / static_cast<float>(d.k[0] * d.k[1] * d.k[2]);
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < total; i += std::int64_t{gridDim.x} * blockDim.x) {
    const Pos q = split(i, d.in, d.c);
    int lo[3], hi[3];
    for (int a = 0; a < 3; ++a) pool_out_range(q.p[a], d.k[a], d.s[a], d.p[a], d.out[a], lo[a], hi[a]);
    float acc = 0.f;
    for (int a = lo[0]; a < hi[0]; ++a)
      for (int b = lo[1]; b < hi[1]; ++b)
        for (int e = lo[2]; e < hi[2]; ++e) acc += elem::load(dy[out_at(d, q.n, a, b, e, q.c)]);
    elem::store(dx[i], acc * inv);
  }
}

template <typename T>
__global__ void adaptive_forward_kernel(PoolDesc d, const T* __restrict__ x, T* __restrict__ y) {
  const std::int64_t total = d.n * d.out_volume() * d.c;
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < total; i += std::int64_t{gridDim.x} * blockDim.x) {
    const Pos o = split(i, d.out, d.c);
    int lo[3], hi[3];
    for (int a = 0; a < 3; ++a) {
      lo[a] = adaptive_start(o.p[a], d.in[a], d.out[a]);
      hi[a] = adaptive_end(o.p[a], d.in[a], d.out[a]);
    }
    const T* xn = x + o.n * d.in_volume() * d.c + o.c;
    float acc = 0.f;
    for (int a = lo[0]; a < hi[0]; ++a)
      for (int b = lo[1]; b < hi[1]; ++b)
        for (int e = lo[2]; e < hi[2]; ++e)
          acc += elem::load(xn[((static_cast<std::int64_t>(a) * d.in[1] + b) * d.in[2] + e) * d.c]);
    elem::store(y[i], acc * (1.0f / static_cast<float>((hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2]))));
  }
}

template <typename T>
__global__ void adaptive_backward_kernel(PoolDesc d, const T* __restrict__ dy, T* __restrict__ dx) {
  const std::int64_t total = d.n * d.in_volume() * d.c;
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < total; i += std::int64_t{gridDim.x} * blockDim.x) {
    const Pos q = split(i, d.in, d.c);
    float acc = 0.f;
    for (int a = 0; a < d.out[0]; ++a) {
      const int la = adaptive_start(a, d.in[0], d.out[0]), ha = adaptive_end(a, d.in[0], d.out[0]);
      if (q.p[0] < la || q.p[0] >= ha) continue;
      for (int b = 0; b < d.out[1]; ++b) {
        const int lb = adaptive_start(b, d.in[1], d.out[1]), hb = adaptive_end(b, d.in[1], d.out[1]);
        if (q.p[1] < lb || q.p[1] >= hb) continue;
        for (int e = 0; e < d.out[2]; ++e) {
          const int le = adaptive_start(e, d.in[2], d.out[2]), he = adaptive_end(e, d.in[2], d.out[2]);
          if (q.p[2] < le || q.p[2] >= he) continue;
          acc += elem::load(dy[out_at(d, q.n, a, b, e, q.c)]) * (1.0f / static_cast<float>((ha - la) * (hb - lb) * (he - le)));
        }
      }
    }
    elem::store(dx[i], acc);
  }
}

template <typename T>
struct StoreMeanNC {
  T* y;
  std::int64_t c, sp;
  __device__ void operator()(std::int64_t g, std::int64_t col, double s, double) const {
    elem::store(y[g * c + col], static_cast<float>(s / static_cast<double>(sp)));
  }
};

template <typename T>
__global__ void global_backward_kernel(const T* __restrict__ dy, T* __restrict__ dx, std::int64_t n, std::int64_t sp,
                                       std::int64_t c) {
  const std::int64_t total = n * sp * c;
  const float inv = 1.0f / static_cast<float>(sp);
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < total; i += std::int64_t{gridDim.x} * blockDim.x)
    elem::store(dx[i], elem::load(dy[(i / (sp * c)) * c + i % c]) * inv);
}

}  // namespace

template <typename T>
void maxpool_forward(const PoolDesc& d, const T* x, T* y, std::int32_t* argmax, cudaStream_t stream) {
  cmt::cuda::launch(window_forward_kernel<true, T>, colred::grid_1d(d.n * d.out_volume() * d.c), 256, 0, stream, d, x, y, argmax);
  CUDA_CHECK_LAUNCH();
}

template <typename T>
void maxpool_backward(const PoolDesc& d, const T* dy, const std::int32_t* argmax, T* dx, cudaStream_t stream) {
  cmt::cuda::launch(max_backward_kernel<T>, colred::grid_1d(d.n * d.in_volume() * d.c), 256, 0, stream, d, dy, argmax, dx);
  CUDA_CHECK_LAUNCH();
}

template <typename T>
void avgpool_forward(const PoolDesc& d, const T* x, T* y, cudaStream_t stream) {
  cmt::cuda::launch(window_forward_kernel<false, T>, colred::grid_1d(d.n * d.out_volume() * d.c), 256, 0, stream, d, x, y, nullptr);
  CUDA_CHECK_LAUNCH();
}

template <typename T>
void avgpool_backward(const PoolDesc& d, const T* dy, T* dx, cudaStream_t stream) {
  cmt::cuda::launch(avg_backward_kernel<T>, colred::grid_1d(d.n * d.in_volume() * d.c), 256, 0, stream, d, dy, dx);
  CUDA_CHECK_LAUNCH();
}

template <typename T>
void adaptive_avgpool_forward(const PoolDesc& d, const T* x, T* y, cudaStream_t stream) {
  cmt::cuda::launch(adaptive_forward_kernel<T>, colred::grid_1d(d.n * d.out_volume() * d.c), 256, 0, stream, d, x, y);
  CUDA_CHECK_LAUNCH();
}

template <typename T>
void adaptive_avgpool_backward(const PoolDesc& d, const T* dy, T* dx, cudaStream_t stream) {
  cmt::cuda::launch(adaptive_backward_kernel<T>, colred::grid_1d(d.n * d.in_volume() * d.c), 256, 0, stream, d, dy, dx);
  CUDA_CHECK_LAUNCH();
}

std::size_t global_avgpool_workspace_bytes(std::int64_t n, std::int64_t sp, std::int64_t c) {
  return colred::workspace_bytes(n, sp, c);
}

template <typename T>
void global_avgpool_forward(const T* x, T* y, std::int64_t n, std::int64_t sp, std::int64_t c, void* workspace,
                            cudaStream_t stream) {
  colred::run(n, sp, c, colred::LoadRows<T>{x, c}, StoreMeanNC<T>{y, c, sp}, workspace, stream);
}

template <typename T>
void global_avgpool_backward(const T* dy, T* dx, std::int64_t n, std::int64_t sp, std::int64_t c, cudaStream_t stream) {
  cmt::cuda::launch(global_backward_kernel<T>, colred::grid_1d(n * sp * c), 256, 0, stream, dy, dx, n, sp, c);
  CUDA_CHECK_LAUNCH();
}

#define CMT_POOL_INSTANTIATE(T)                                                                                       \
  template void maxpool_forward<T>(const PoolDesc&, const T*, T*, std::int32_t*, cudaStream_t);                        \
  template void maxpool_backward<T>(const PoolDesc&, const T*, const std::int32_t*, T*, cudaStream_t);          \
  template void avgpool_forward<T>(const PoolDesc&, const T*, T*, cudaStream_t);                                       \
  template void avgpool_backward<T>(const PoolDesc&, const T*, T*, cudaStream_t);                                      \
  template void adaptive_avgpool_forward<T>(const PoolDesc&, const T*, T*, cudaStream_t);                              \
  template void adaptive_avgpool_backward<T>(const PoolDesc&, const T*, T*, cudaStream_t);                             \
  template void global_avgpool_forward<T>(const T*, T*, std::int64_t, std::int64_t, std::int64_t, void*, cudaStream_t); \
  template void global_avgpool_backward<T>(const T*, T*, std::int64_t, std::int64_t, std::int64_t, cudaStream_t);
CMT_POOL_INSTANTIATE(float)
CMT_POOL_INSTANTIATE(std::uint16_t)
#undef CMT_POOL_INSTANTIATE

}  // namespace cmt::cuda
