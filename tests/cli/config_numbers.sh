#!/bin/sh
# Numbers in configs: floats are written as their shortest decimal (0.001, not 0.0010000000474974513),
# and an integer key given a fraction is refused, not truncated. Usage: config_numbers.sh CMT WORKDIR DATA
# (DATA: the tiny_dataset.sh fixture, which --dry-run opens; 3 training samples a fold).
set -eu
cmt=$1; dir=$2; data=$3
rm -rf "$dir"; mkdir -p "$dir"
fail() { echo "FAIL: $*"; exit 1; }
"$cmt" train --dataset "$data" --batch-size 2 --lr 0.001 --tau 0.07 --dry-run > "$dir/dry.json" 2>&1 || { cat "$dir/dry.json"; fail "dry run"; }
grep -q '"lr": 0.001,' "$dir/dry.json" || { cat "$dir/dry.json"; fail "lr is not written as 0.001"; }
grep -q '"tau": 0.07,' "$dir/dry.json" || { cat "$dir/dry.json"; fail "tau is not written as 0.07"; }
if grep -Eq '[0-9]\.[0-9]{10,}' "$dir/dry.json"; then cat "$dir/dry.json"; fail "float noise in the config"; fi
printf '{"dataset": "%s", "batch_size": 2.5}\n' "$data" > "$dir/fraction.json"
if "$cmt" train --config "$dir/fraction.json" --dry-run > "$dir/fraction.log" 2>&1; then cat "$dir/fraction.log"; fail "batch_size 2.5 accepted"; fi
grep -q "key 'batch_size' must be an integer, got 2.5" "$dir/fraction.log" || { cat "$dir/fraction.log"; fail "the refusal does not say why"; }
printf '{"dataset": "%s", "batch_size": 2.0}\n' "$data" > "$dir/whole.json"
"$cmt" train --config "$dir/whole.json" --dry-run | grep -q '"batch_size": 2,' || fail "batch_size 2.0 is not read as 2"
echo "ok: shortest floats, fractional integers refused"
