#!/bin/sh
# `cmt train` end to end on 2 ranks: synthetic X-rays -> HDF5 -> mpirun -np 2 cmt train --sync-bn
# (batch 2 per rank) against one rank with batch 4: the same first-step loss (the loader's shards of
# one permutation make the same global batch), one set of output files written and one held-out
# summary printed, by rank 0 only.
# Usage: cli_train.sh CMT WORKDIR MPIRUN-ARGS...
set -eu
cmt=$1; dir=$2; shift 2
rm -rf "$dir"; mkdir -p "$dir"
"$cmt" synth --out "$dir/raw" --modality xray --format png --count 40 --seed 3 --size xray=32 >/dev/null
"$cmt" prepare --input "$dir/raw/xray/png" --out "$dir/x.h5" --modality xray --size 32 >/dev/null
common="--dataset $dir/x.h5 --fold 0 --backbone vgg19_bn --width 0.125 --depth 0.5 --latent-dim 32 --steps 2 --lr 1e-3 --augment poisson+flip --seed 1 --no-progress --sync-bn"
"$@" 2 "$cmt" train $common --batch-size 2 --comm mpi --out "$dir/two" > "$dir/two.log" 2>&1 || { cat "$dir/two.log"; exit 1; }
"$cmt" train $common --batch-size 4 --out "$dir/one" > "$dir/one.log" 2>&1 || { cat "$dir/one.log"; exit 1; }
cat "$dir/two.log"
ranks=$(grep -c "cmt: rank . of 2" "$dir/two.log")
[ "$ranks" -eq 2 ] || { echo "FAIL: expected a start line from each of 2 ranks, got $ranks"; exit 1; }
held=$(grep -c "^held-out fold 0:" "$dir/two.log")
[ "$held" -eq 1 ] || { echo "FAIL: the held-out summary printed $held times on 2 ranks, expected once (rank 0)"; exit 1; }
for f in config.json data.json steps.csv eval.json last.h5; do
  [ -f "$dir/two/$f" ] || { echo "FAIL: $dir/two/$f missing"; exit 1; }
done
rows=$(($(wc -l < "$dir/two/steps.csv") - 1))
[ "$rows" -eq 2 ] || { echo "FAIL: steps.csv has $rows steps, expected 2 (one writer)"; exit 1; }
a=$(awk -F, 'NR==2 {print $3}' "$dir/two/steps.csv"); b=$(awk -F, 'NR==2 {print $3}' "$dir/one/steps.csv")
awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-5 * (b < 0 ? -b : b) + 1e-6) }' ||
  { echo "FAIL: first-step loss $a on 2 ranks x 2, $b on 1 rank x 4"; exit 1; }
echo "ok: first-step loss $a (2 ranks x 2) == $b (1 rank x 4); files written once"
