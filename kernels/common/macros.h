// Portability macros shared by host and device code.
#pragma once

#if defined(__CUDACC__)
#define CMT_HD __host__ __device__ __forceinline__
#else
#define CMT_HD inline
#endif
