#!/bin/sh
# Configures and builds a CPU-only cmt with clang's AddressSanitizer, UndefinedBehaviorSanitizer
# and LeakSanitizer in ./build-sanitize, at -O1 (exact line reports at a fraction of -O0's cost).
# The same tree holds the libFuzzer targets (tests/fuzz): its code is compiled with libFuzzer's
# coverage instrumentation too. Built: the doctest unit tests and the fuzz targets, and with
# --with-cli the `cmt` command for the CLI tests; docs/robustness.md says what runs under the
# sanitizers. Other arguments go to cmake.
set -eu
cd "$(dirname "$0")/.."
targets="cmt_tests cmt_fuzz_targets"
if [ "${1-}" = "--with-cli" ]; then
  targets="$targets cmt"
  shift
fi
generator=""
command -v ninja >/dev/null 2>&1 && generator="-G Ninja"
sanitizers="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
flags="-O1 -g -fno-omit-frame-pointer $sanitizers -fsanitize=fuzzer-no-link"
CC=clang CXX=clang++ cmake -S . -B build-sanitize $generator -DCMAKE_BUILD_TYPE=None -DCMT_WITH_CUDA=OFF -DCMT_WITH_MPI=OFF \
  -DCMT_BUILD_BENCH=OFF -DCMT_ORACLE_TESTS=OFF -DCMT_WERROR=OFF -DCMT_FUZZ=ON -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_C_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="$sanitizers" -DCMAKE_SHARED_LINKER_FLAGS="$sanitizers" "$@"
cmake --build build-sanitize -j "$(nproc)" --target $targets
