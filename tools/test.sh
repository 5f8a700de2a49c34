#!/bin/sh
# The README's test command: install, build, run every test (CUDA tests on a real GPU skip without
# one), then build the emulated device and run the whole CUDA suite on it (label emu).
set -eu
cd "$(dirname "$0")/.."
tools/install-deps.sh --test
tools/build.sh -DCMT_ORACLE_TESTS=ON
ctest --test-dir build -j "$(nproc)" --output-on-failure --timeout 900
tools/build-emu.sh
ctest --test-dir build-emu -L emu -j "$(nproc)" --output-on-failure --timeout 900
