#!/bin/sh
# Runs a command that must fail (a rank killed or hung): passes when it exits non-zero within
# LIMIT seconds and its output matches PATTERN. Usage: expect_failure.sh LIMIT PATTERN command...
limit=$1; pattern=$2; shift 2
start=$(date +%s)
out=$(timeout "$((limit + 30))" "$@" 2>&1); rc=$?
took=$(( $(date +%s) - start ))
printf '%s\n' "$out"
echo "exit code $rc after ${took} s"
[ "$rc" -ne 0 ] || { echo "FAIL: the job succeeded although a rank died"; exit 1; }
[ "$rc" -ne 124 ] || { echo "FAIL: the job hung (killed by timeout)"; exit 1; }
[ "$took" -le "$limit" ] || { echo "FAIL: took ${took} s, more than ${limit} s"; exit 1; }
printf '%s\n' "$out" | grep -Eq "$pattern" || { echo "FAIL: no message matching '$pattern'"; exit 1; }
echo "ok: the job ended non-zero with a clear message"
