#!/bin/sh
# Configures and builds cmt in ./build (Release, CUDA when nvcc is found). Extra arguments go to cmake.
set -eu
cd "$(dirname "$0")/.."
cuda=ON
command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ] || cuda=OFF
[ -x /usr/local/cuda/bin/nvcc ] && export PATH="/usr/local/cuda/bin:$PATH"
generator=""
command -v ninja >/dev/null 2>&1 && generator="-G Ninja"
cmake -S . -B build $generator -DCMAKE_BUILD_TYPE=Release -DCMT_WITH_CUDA=$cuda "$@"
cmake --build build -j "$(nproc)"
