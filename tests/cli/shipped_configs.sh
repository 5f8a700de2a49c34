#!/bin/sh
# Every shipped configuration under configs/ parses and validates (`cmt train --config F --dry-run`),
# and the paper's settings per modality come out of it; the default policy is the paper's.
# --dry-run opens the dataset and checks the batch against a fold's training part: a dataset of 132
# tiny X-ray phantoms (2 folds, 66 training samples each) holds the X-ray batch of 64.
# Usage: shipped_configs.sh CMT SOURCE_DIR WORKDIR
set -eu
cmt=$1; src=$2; dir=$3
. "$(dirname "$0")/tiny_data.sh"
tiny_xray_dataset data 132 3 16
# Without a config file the policy is the paper's too (all seven transformations).
"$cmt" train --dataset "$dir/data.h5" --dry-run | grep -qF '"augment": "paper"' || fail "the default policy is not 'paper'"
checked=""
for f in "$src"/configs/*.json; do
  out=$("$cmt" train --config "$f" --dataset "$dir/data.h5" --dry-run) || fail "$f does not validate"
  for want in '"backbone": "efficientnet_b4"' '"augment": "paper"' '"lambda": 0.25' '"latent_dim": 4096' '"lr": 0.001'; do
    echo "$out" | grep -qF "$want" || fail "$f: no $want in: $out"
  done
  name=$(basename "$f")
  if [ "$name" = ct.json ]; then
    echo "$out" | grep -qF '"batch_size": 8,' || fail "ct.json: batch size is not the paper's 8"
  elif [ "$name" = xray.json ]; then
    echo "$out" | grep -qF '"batch_size": 64,' || fail "xray.json: batch size is not the paper's 64"
  else
    fail "$f: no expectation for this shipped config (add one here)"
  fi
  checked="$checked $name"
done
[ "$checked" = " ct.json xray.json" ] || fail "expected configs/ct.json and configs/xray.json, found:$checked"
echo "ok: shipped configs validate with the paper's settings:$checked"
