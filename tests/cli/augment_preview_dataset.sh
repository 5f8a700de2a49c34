#!/bin/sh
# `cmt augment --preview --dataset`: the policy's two views of one sample of the user's own data.
# CT (the tiny_dataset.sh fixture, 8^3): a montage of 6 axial slices, each panel enlarged to 128 px;
# X-ray (made here, 16^2): one column. The views change the sample exactly when the policy does
# something, the same seed draws the same views, and bad input is refused naming the problem.
# Usage: augment_preview_dataset.sh CMT CT_DATASET WORKDIR
set -eu
cmt=$1; ct=$2; dir=$3
rm -rf "$dir"; mkdir -p "$dir"
fail() { echo "FAIL: $*" >&2; exit 1; }
expect() {  # expect TEXT OUTPUT WHAT
  case "$2" in *"$1"*) ;; *) fail "$3: expected '$1' in: $2" ;; esac
}
changes() { printf '%s\n' "$1" | sed -n 's/^view [12]: mean absolute change \([0-9.]*\) from the original$/\1/p' | tr '\n' ' '; }

out=$("$cmt" augment --preview "$dir/a.png" --dataset "$ct" --index 3 --policy poisson --seed 4)
expect "wrote $dir/a.png (796x442): sample 3 of $ct (ct 8x8x8" "$out" "CT montage"
expect "axial slices z = 0, 2, 3, 4, 6, 7 of 8" "$out" "CT slices"
[ "$(head -c 8 "$dir/a.png" | od -An -c | tr -d ' ')" = '211PNG\r\n032\n' ] || fail "$dir/a.png is not a PNG"
set -- $(changes "$out")
[ $# -eq 2 ] || fail "expected two 'view N: mean absolute change' lines: $out"
awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > 0.001 && b > 0.001) }' || fail "poisson noise left a view unchanged: $out"

"$cmt" augment --preview "$dir/b.png" --dataset "$ct" --index 3 --policy poisson --seed 4 >/dev/null
cmp -s "$dir/a.png" "$dir/b.png" || fail "the same seed drew different views"
"$cmt" augment --preview "$dir/c.png" --dataset "$ct" --index 3 --policy poisson --seed 5 >/dev/null
cmp -s "$dir/a.png" "$dir/c.png" && fail "another seed drew the same views"

out=$("$cmt" augment --preview "$dir/none.png" --dataset "$ct" --index 0 --policy none)
[ "$(changes "$out")" = "0.0000 0.0000 " ] || fail "policy none changed the sample: $out"

"$cmt" synth --out "$dir/raw" --modality xray --format png --count 3 --seed 2 --size xray=16 >/dev/null
"$cmt" prepare --input "$dir/raw/xray/png" --out "$dir/x.h5" --modality xray --size 16 --folds 1 >/dev/null
out=$("$cmt" augment --preview "$dir/x.png" --dataset "$dir/x.h5" --index 1 --policy flip,flip_prob=1,flip_max=1)
expect "wrote $dir/x.png (136x442): sample 1 of $dir/x.h5 (xray 1x16x16" "$out" "X-ray strip"
case "$out" in *"axial slices"*) fail "an X-ray preview named slices: $out" ;; esac
set -- $(changes "$out")
awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > 0.001 && b > 0.001) }' || fail "a certain flip left a view unchanged: $out"

# Refusals: exit 2 for a bad command line, 1 for a file that cannot be read; nothing written.
set +e
err=$("$cmt" augment --preview "$dir/bad.png" --dataset "$ct" --index 6 2>&1); rc=$?
set -e
[ $rc -eq 2 ] || fail "--index 6 of 6 samples: exit $rc, expected 2: $err"
expect "--index 6 is out of range: $ct holds 6 samples (0 to 5)" "$err" "index out of range"
set +e
err=$("$cmt" augment --preview "$dir/bad.png" --dataset "$dir/missing.h5" 2>&1); rc=$?
set -e
[ $rc -eq 1 ] || fail "a missing dataset: exit $rc, expected 1: $err"
expect "$dir/missing.h5" "$err" "missing dataset"
[ ! -e "$dir/bad.png" ] || fail "a refused preview wrote $dir/bad.png"
echo "ok"
