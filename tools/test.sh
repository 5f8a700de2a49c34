#!/bin/sh
# The README's test command: install, build, run every test (CUDA tests on a real GPU skip without
# one), then build the emulated device and run the whole CUDA suite on it (label emu), then build
# the CPU code with clang's sanitizers and run the unit suite and the fuzz targets under them
# (docs/robustness.md).
set -eu
cd "$(dirname "$0")/.."
tools/install-deps.sh --test
tools/build.sh -DCMT_ORACLE_TESTS=ON
ctest --test-dir build -j "$(nproc)" --output-on-failure --timeout 900
tools/build-emu.sh
ctest --test-dir build-emu -L emu -j "$(nproc)" --output-on-failure --timeout 900
tools/build-sanitize.sh
ctest --test-dir build-sanitize -R '^(unit|fuzz)[.]' -j "$(nproc)" --output-on-failure --timeout 900
