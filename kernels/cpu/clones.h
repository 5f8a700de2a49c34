// x86-64 builds target the baseline ISA (SSE2). The hot loops of the CPU kernels are also compiled for
// AVX2 and AVX-512 and the best version is picked at load time (GCC's target_clones). Files using it
// turn off contraction into FMAs (kernels/CMakeLists.txt), so every version gives the same bits.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CMT_CPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CMT_CPU_CLONES
#endif
