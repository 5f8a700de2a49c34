#!/bin/sh
# The README's main command: install, build, then run the job on the built-in data.
set -eu
cd "$(dirname "$0")/.."
tools/install-deps.sh
tools/build.sh
build/bin/cmt info
build/bin/cmt_bench_ops
