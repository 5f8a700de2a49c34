// Forward declarations of the CUDA handle types, so headers need no CUDA includes.
#pragma once

struct CUstream_st;
struct CUevent_st;
struct cublasContext;
struct cublasLtContext;
struct cudnnContext;
typedef CUstream_st* cudaStream_t;
typedef CUevent_st* cudaEvent_t;
typedef cublasContext* cublasHandle_t;
typedef cublasLtContext* cublasLtHandle_t;
typedef cudnnContext* cudnnHandle_t;
