#!/bin/sh
# Configures and builds the emulated-device build in ./build-emu: kernels/cuda compiled for the host
# under the strict SIMT emulator (emu/), no GPU or nvcc needed. Extra arguments go to cmake.
set -eu
cd "$(dirname "$0")/.."
generator=""
command -v ninja >/dev/null 2>&1 && generator="-G Ninja"
cmake -S . -B build-emu $generator -DCMAKE_BUILD_TYPE=Release -DCMT_CUDA_EMULATOR=ON -DCMT_BUILD_BENCH=OFF "$@"
cmake --build build-emu -j "$(nproc)"
