#!/bin/sh
# `cmt train --resume RUN/last.h5` alone continues the run with the configuration saved in the
# checkpoint, in the checkpoint's folder; more epochs may be asked for, but a key that shapes the
# training (here lr) may not change: refused with exit 2, naming the key and both values.
# Usage: resume_config.sh CMT DATASET WORKDIR
set -eu
cmt=$1; data=$2; dir=$3
. "$(dirname "$0")/tiny_run_args.sh"
rm -rf "$dir"; mkdir -p "$dir"
run=$dir/run
"$cmt" train $tiny --lr 0.002 --tau 0.5 --seed 3 --epochs 2 --out "$run" > "$dir/first.log" 2>&1 || fail "first run" "$dir/first.log"
cp "$run/config.json" "$dir/config-before.json"
"$cmt" train --resume "$run/last.h5" --epochs 3 > "$dir/resume.log" 2>&1 || fail "--resume alone" "$dir/resume.log"
steps=$(awk -F, 'NR > 1 { printf "%s ", $1 }' "$run/steps.csv")
[ "$steps" = "1 2 3 " ] || fail "the resumed run's steps.csv holds '$steps', expected '1 2 3 '"
sed 's/"epochs": 2/"epochs": 3/' "$dir/config-before.json" | cmp -s - "$run/config.json" ||
  fail "the resumed run's config.json is not the saved one with epochs 3: $(diff "$dir/config-before.json" "$run/config.json")"
status=0
"$cmt" train --resume "$run/last.h5" --epochs 4 --lr 0.01 > "$dir/lr.log" 2>&1 || status=$?
[ "$status" -eq 2 ] || fail "--resume with another --lr: exit $status, expected 2" "$dir/lr.log"
grep -q "lr: 0.002[0-9]* in the checkpoint, 0.0099[0-9]* now" "$dir/lr.log" ||
  fail "the refusal does not name lr with both values" "$dir/lr.log"
[ "$(steps_in "$run/steps.csv")" -eq 3 ] || fail "the refused resume touched the run"
echo "ok: --resume alone restores the saved configuration; a changed lr is refused"
