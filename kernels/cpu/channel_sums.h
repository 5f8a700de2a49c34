// Per-channel sums over the rows of a (rows, C) matrix, in double, on the OpenMP team: each thread
// adds a contiguous range of rows into its own partial and the partials are added in thread order, so
// a given team size always gives the same sums. Rows are read contiguously: summing one channel at a
// time walks memory with a stride of C floats and misses the cache on every element.
#pragma once

#include <omp.h>

#include <cstdint>
#include <vector>

#include "kernels/cpu/clones.h"

namespace cmt::cpu {

// out gets `width` doubles per channel (out[w * c + j]); add(r, acc) adds row r into acc.
template <typename Add>
CMT_CPU_CLONES void channel_sums(std::int64_t rows, std::int64_t c, int width, std::vector<double>& out, Add add) {
  const std::size_t per = static_cast<std::size_t>(c * width);
  std::vector<double> partials;
  int team = 1;
#pragma omp parallel if (rows * c > (1 << 16))
  {
#pragma omp single
    {
      team = omp_get_num_threads();
      partials.assign(per * static_cast<std::size_t>(team), 0.0);
    }
    const int me = omp_get_thread_num();
    double* acc = partials.data() + per * static_cast<std::size_t>(me);
    for (std::int64_t r = rows * me / team, last = rows * (me + 1) / team; r < last; ++r) add(r, acc);
  }
  out.assign(per, 0.0);
  for (int t = 0; t < team; ++t)
    for (std::size_t i = 0; i < per; ++i) out[i] += partials[per * static_cast<std::size_t>(t) + i];
}

}  // namespace cmt::cpu
