#!/bin/sh
# A short, reproducible libFuzzer search: from a copy of the committed corpus, a fixed seed and a
# fixed number of runs (each input limited to 10 s and 2 GiB of memory; single allocations are left
# to the sanitizer's allocator, see CMakeLists.txt), so that CI sees the same inputs
# every time. New inputs stay in WORKDIR (not committed); a finding is written there as crash-* /
# timeout-* / leak-* / oom-* and the test fails, naming it.
# Usage: search.sh FUZZER CORPUS WORKDIR RUNS
set -eu
fuzzer=$1; corpus=$2; work=$3; runs=$4
rm -rf "$work"; mkdir -p "$work/corpus"
cp "$corpus"/* "$work/corpus/"
cd "$work"
"$fuzzer" -seed=1 -runs="$runs" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1000000 -max_len=65536 -print_final_stats=1 corpus 2>fuzz.log || {
  tail -60 fuzz.log
  echo "FAIL: $fuzzer found an input that it rejects wrongly: $(ls crash-* timeout-* leak-* oom-* 2>/dev/null)"
  exit 1
}
grep -E "stat::number_of_executed_units|stat::peak_rss_mb" fuzz.log
