// Per-channel sums over the rows of a (rows, C) matrix, in double, on the OpenMP team: each thread
// adds a contiguous range of rows into its own partial and the partials are added in thread order, so
// a given team size always gives the same sums. Rows are read contiguously: summing one channel at a
// time walks memory with a stride of C floats and misses the cache on every element.
#pragma once

#include <omp.h>

#include <array>
#include <cstdint>
#include <vector>

#include "kernels/cpu/clones.h"

namespace cmt::cpu {

// out gets W doubles per channel (out[w * c + j] = sum over rows r of term(r, j)[w]); term returns
// std::array<double, W>. Four rows are added together before they reach the partial: adding each row
// into memory makes every row wait for the previous row's stores.
template <int W, typename Term>
CMT_CPU_CLONES void channel_sums(std::int64_t rows, std::int64_t c, std::vector<double>& out, Term term) {
  const std::size_t per = static_cast<std::size_t>(c * W);
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
    std::int64_t r = rows * me / team;
    const std::int64_t last = rows * (me + 1) / team;
    for (; r + 4 <= last; r += 4)
      for (std::int64_t j = 0; j < c; ++j) {
        const std::array<double, W> a = term(r, j), b = term(r + 1, j), d = term(r + 2, j), e = term(r + 3, j);
        for (int w = 0; w < W; ++w) acc[w * c + j] += (a[w] + b[w]) + (d[w] + e[w]);
      }
    for (; r < last; ++r)
      for (std::int64_t j = 0; j < c; ++j) {
        const std::array<double, W> a = term(r, j);
        for (int w = 0; w < W; ++w) acc[w * c + j] += a[w];
      }
  }
  out.assign(per, 0.0);
  for (int t = 0; t < team; ++t)
    for (std::size_t i = 0; i < per; ++i) out[i] += partials[per * static_cast<std::size_t>(t) + i];
}

}  // namespace cmt::cpu
