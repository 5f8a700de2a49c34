#!/bin/sh
# Shows that tests/docs/wording.sh can fail: in a scratch folder without git, a file with one planted
# hit per pattern must make it exit 1 naming each FILE:LINE, and a file of near misses (other words
# that contain the same letters) must not be named; the near misses alone must pass.
# The planted words are assembled from pieces, so this file's own text does not match.
#   wording_detects.sh WORDING_SH
set -eu
check=${1:?usage: wording_detects.sh WORDING_SH}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/docs" "$work/kernels"
i=is; s=ses; l=l
{
  echo "# Planted"
  echo "## Convolution (${i}sue 3)"
  echo "ran in the first GPU ${s}sion"
  echo "on a ${l}ent H100"
  echo "from the device lib""rary's KIN""DS.md"
  echo "see DES""IGN.md"
  echo "no ${l}ending yet"
  echo "tracked as ${i}sue #12"
  echo "GPU ${s}sions so far"
} >"$work/docs/planted.md"
{
  echo "// Near misses: a silent loss, the issue-order event, issued in order, soft tissue 40 HU,"
  echo "// sessionless, the device's library, design notes in docs/architecture.md."
} >"$work/kernels/clean.cpp"

status=0
out=$(sh "$check" "$work" 2>&1) || status=$?
echo "$out"
if [ "$status" -ne 1 ]; then
  echo "FAIL: wording.sh exited $status on the planted hits, expected 1" >&2
  exit 1
fi
for n in 2 3 4 5 6 7 8 9; do
  if ! echo "$out" | grep -q "^docs/planted.md:$n:"; then
    echo "FAIL: planted hit docs/planted.md:$n not reported" >&2
    exit 1
  fi
done
if echo "$out" | grep -q -e "^docs/planted.md:1:" -e "^kernels/clean.cpp:"; then
  echo "FAIL: a line without a hit was reported" >&2
  exit 1
fi

rm "$work/docs/planted.md"
status=0
out=$(sh "$check" "$work" 2>&1) || status=$?
if [ "$status" -ne 0 ]; then
  echo "$out"
  echo "FAIL: wording.sh exited $status on the near misses alone, expected 0" >&2
  exit 1
fi
echo "wording.sh reports every planted hit and passes the near misses"
