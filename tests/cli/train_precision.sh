#!/bin/sh
# `cmt train` picks its precision: 'auto' (the default) is fp32 on the CPU, says so on its start line
# and records what ran in config.json; an explicit --precision is kept; an unknown one is refused.
# Usage: train_precision.sh CMT WORKDIR
set -eu
cmt=$1; dir=$2
rm -rf "$dir"; mkdir -p "$dir"
"$cmt" synth --out "$dir/raw" --modality xray --format png --count 12 --seed 5 --size xray=32 >/dev/null
"$cmt" prepare --input "$dir/raw/xray/png" --out "$dir/x.h5" --modality xray --size 32 --folds 2 >/dev/null
common="--dataset $dir/x.h5 --fold 0 --backbone vgg19_bn --width 0.125 --depth 0.5 --latent-dim 16 --steps 1 --batch-size 2 --augment flip --no-progress --device cpu"
"$cmt" train $common --out "$dir/auto" > "$dir/auto.log" 2>&1 || { cat "$dir/auto.log"; exit 1; }
grep -q "on cpu in fp32 (auto)" "$dir/auto.log" || { cat "$dir/auto.log"; echo "FAIL: the start line does not say 'on cpu in fp32 (auto)'"; exit 1; }
grep -q '"precision": "fp32"' "$dir/auto/config.json" || { echo "FAIL: config.json does not record fp32"; exit 1; }
"$cmt" train $common --precision tf32 --out "$dir/tf32" > "$dir/tf32.log" 2>&1 || { cat "$dir/tf32.log"; exit 1; }
grep -q "on cpu in tf32," "$dir/tf32.log" || { cat "$dir/tf32.log"; echo "FAIL: an explicit --precision tf32 is not kept"; exit 1; }
grep -q '"precision": "tf32"' "$dir/tf32/config.json" || { echo "FAIL: config.json does not record tf32"; exit 1; }
status=0
"$cmt" train $common --precision fp16 --out "$dir/bad" > "$dir/bad.log" 2>&1 || status=$?
[ "$status" -eq 2 ] && grep -q "'precision' is 'fp16', expected one of auto, fp32, tf32, bf16" "$dir/bad.log" ||
  { cat "$dir/bad.log"; echo "FAIL: --precision fp16 gave exit $status, expected a bad command line (2) naming the choices"; exit 1; }
echo "ok: auto -> fp32 on the CPU, stated and recorded; tf32 kept; fp16 refused"
