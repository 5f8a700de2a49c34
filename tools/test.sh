#!/bin/sh
# The README's test command: install, build, run every test (CUDA tests skip without a GPU).
set -eu
cd "$(dirname "$0")/.."
tools/install-deps.sh --test
tools/build.sh
ctest --test-dir build -j "$(nproc)" --output-on-failure --timeout 900
