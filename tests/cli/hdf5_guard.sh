#!/bin/sh
# HDF5 files on which HDF5 itself hangs or crashes end `cmt` with an error naming the file, exit
# code 1, within the guard's time limit (1 s here): a dataset whose string attribute makes HDF5
# loop, and weights for `cmt train --init-weights` on which HDF5 crashes (SIGSEGV) while reading
# their structure. A good dataset still opens.
# Usage: hdf5_guard.sh CMT WORKDIR SOURCE_DIR
set -eu
cmt=$1; dir=$2; findings=$3/tests/fuzz/hdf5-library
rm -rf "$dir"; mkdir -p "$dir"
export CMT_HDF5_GUARD_SECONDS=1
"$cmt" synth --out "$dir/raw" --modality xray --format png --count 6 --size xray=16 >/dev/null
"$cmt" prepare --input "$dir/raw/xray/png" --out "$dir/ok.h5" --modality xray --size 16 --folds 2 >/dev/null
"$cmt" dataset info "$dir/ok.h5" >"$dir/ok.txt" || { cat "$dir/ok.txt"; echo "FAIL: a good dataset was refused"; exit 1; }
expect_refusal() {  # TEXT COMMAND...: exit code 1 within 10 s, and TEXT in the output
  text=$1; shift
  rc=0
  start=$(date +%s)
  "$@" >"$dir/out.txt" 2>&1 || rc=$?
  seconds=$(( $(date +%s) - start ))
  cat "$dir/out.txt"
  [ "$rc" -eq 1 ] || { echo "FAIL: exit code $rc, expected 1"; exit 1; }
  grep -qF "$text" "$dir/out.txt" || { echo "FAIL: no message '$text'"; exit 1; }
  [ "$seconds" -le 10 ] || { echo "FAIL: $seconds s"; exit 1; }
}
hang=$findings/dataset-attribute-global-heap-hang.h5
expect_refusal "$hang: HDF5 did not finish reading the file's structure within 1 s" "$cmt" dataset info "$hang"
crash=$findings/weights-attribute-global-heap-crash.h5
expect_refusal "weights $crash: HDF5 crashed (SIGSEGV) while reading the file's structure; the file is corrupt" \
  "$cmt" train --dataset "$dir/ok.h5" --backbone resnet50 --width 0.125 --depth 0.34 --latent-dim 8 --batch-size 2 \
  --device cpu --no-progress --epochs 1 --out "$dir/run" --init-weights "$crash"
echo "ok"
