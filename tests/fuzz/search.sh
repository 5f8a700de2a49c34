#!/bin/sh
# A short, reproducible libFuzzer search: from a copy of the committed corpus, a fixed seed and a
# fixed number of runs (each input limited to 10 s and 2 GiB of memory; single allocations are left
# to the sanitizer's allocator, see CMakeLists.txt), so that CI sees the same inputs
# every time. New inputs stay in WORKDIR (not committed); a finding is written there as crash-* /
# timeout-* / leak-* / oom-* and the test fails, naming it.
# The HDF5 targets read each file first in a forked child (engine/hdf5_guard.h), which turns a
# crash into a refusal; a sanitizer report that the child printed from cmt's own code (a frame #0
# or #1 in SOURCE_DIR, not counting the sanitizer's interceptors, or any UndefinedBehaviorSanitizer
# report: HDF5 itself is not instrumented) fails the test all the same.
# Usage: search.sh FUZZER CORPUS WORKDIR RUNS [SOURCE_DIR]
set -eu
fuzzer=$1; corpus=$2; work=$3; runs=$4; source_dir=${5-}
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"; mkdir -p "$work/corpus"
cp "$corpus"/* "$work/corpus/"
cd "$work"
"$fuzzer" -seed=1 -runs="$runs" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1000000 -max_len=65536 -print_final_stats=1 corpus 2>fuzz.log || {
  tail -60 fuzz.log
  echo "FAIL: $fuzzer found an input that it rejects wrongly: $(ls crash-* timeout-* leak-* oom-* 2>/dev/null)"
  exit 1
}
if [ -n "$source_dir" ]; then
  own=$(awk -v src="$source_dir" -f "$here/own_reports.awk" fuzz.log) && {
    echo "$own"
    echo "FAIL: a sanitizer report from cmt's own code in a checking child of $fuzzer (fuzz.log in $work)"
    exit 1
  }
fi
grep -E "stat::number_of_executed_units|stat::peak_rss_mb" fuzz.log
echo "refused by the HDF5 guard: $(grep -c 'cmt-fuzz: refused by the HDF5 guard' fuzz.log || true) inputs"
