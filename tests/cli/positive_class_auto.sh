#!/bin/sh
# positive_class=auto takes the class named like "covid" for sensitivity, specificity and AUC; when
# no class is, the run must say which class the binary metrics are for instead of taking the first
# silently. Usage: positive_class_auto.sh CMT WORKDIR
set -eu
cmt=$1; dir=$2
rm -rf "$dir"; mkdir -p "$dir"
"$cmt" synth --out "$dir/raw" --modality xray --format png --count 12 --seed 7 --size xray=32 >/dev/null
# The COVID-19 class renamed in the manifest that synth writes (paths unchanged, label 'viral').
sed -i 's/,covid19,/,viral,/' "$dir/raw/xray/png/manifest.csv"
"$cmt" prepare --input "$dir/raw/xray/png" --out "$dir/x.h5" --modality xray --size 32 --folds 2 >/dev/null
common="--dataset $dir/x.h5 --fold 0 --backbone vgg19_bn --width 0.125 --depth 0.5 --latent-dim 16 --steps 1 --batch-size 2 --augment flip --no-progress --device cpu"
"$cmt" train $common --out "$dir/auto" > "$dir/auto.log" 2>&1 || { cat "$dir/auto.log"; exit 1; }
grep -q "warning: positive_class is auto but no class is named like 'covid'" "$dir/auto.log" ||
  { cat "$dir/auto.log"; echo "FAIL: no warning that no class names COVID-19"; exit 1; }
"$cmt" train $common --positive-class viral --out "$dir/named" > "$dir/named.log" 2>&1 || { cat "$dir/named.log"; exit 1; }
if grep -q "warning: positive_class" "$dir/named.log"; then cat "$dir/named.log"; echo "FAIL: warned although the class was named"; exit 1; fi
echo "ok: auto without a COVID-like class warns; a named positive class does not"
