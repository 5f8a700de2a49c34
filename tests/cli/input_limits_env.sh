#!/bin/sh
# The input size limits are configurable: CMT_MAX_IMAGE_PIXELS below a 16 x 16 radiograph makes
# `cmt prepare --strict` refuse every image, naming the file and the variable; a bad value is named.
# Usage: input_limits_env.sh CMT WORKDIR
set -eu
cmt=$1; dir=$2
rm -rf "$dir"; mkdir -p "$dir"
"$cmt" synth --out "$dir/raw" --modality xray --format png --count 2 --size xray=16 >/dev/null
"$cmt" prepare --input "$dir/raw/xray/png" --out "$dir/ok.h5" --modality xray --size 16 --folds 1 --strict >/dev/null
[ -f "$dir/ok.h5" ] || { echo "FAIL: the default limits refused a 16 x 16 image"; exit 1; }
rc=0
CMT_MAX_IMAGE_PIXELS=100 "$cmt" prepare --input "$dir/raw/xray/png" --out "$dir/limited.h5" --modality xray --size 16 \
  --folds 1 --strict >"$dir/out.txt" 2>&1 || rc=$?
cat "$dir/out.txt"
[ "$rc" -ne 0 ] || { echo "FAIL: prepare succeeded under CMT_MAX_IMAGE_PIXELS=100"; exit 1; }
grep -q "P0000.png: PNG header claims 16 x 16 pixels, over the limit of 100 (CMT_MAX_IMAGE_PIXELS)" "$dir/out.txt" ||
  { echo "FAIL: no message naming the file and the limit"; exit 1; }
[ ! -e "$dir/limited.h5" ] || { echo "FAIL: a dataset was written"; exit 1; }
rc=0
CMT_MAX_SLICES=lots "$cmt" prepare --input "$dir/raw/xray/png" --out "$dir/bad.h5" --modality xray --size 16 --folds 1 \
  --strict >"$dir/bad.txt" 2>&1 || rc=$?
cat "$dir/bad.txt"
[ "$rc" -ne 0 ] && grep -q "CMT_MAX_SLICES='lots': expected a positive integer" "$dir/bad.txt" ||
  { echo "FAIL: a bad CMT_MAX_SLICES was not refused by name"; exit 1; }
echo "ok"
