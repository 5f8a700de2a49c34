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
# The configuration is the saved one with epochs 3; run_info (how each run was made) says this one resumed.
without_info() { sed '/^  "run_info"/,/^  }/d' "$1"; }  # the block ends at its own indentation: it holds objects
without_info "$dir/config-before.json" | sed 's/"epochs": 2/"epochs": 3/' > "$dir/want.json"
without_info "$run/config.json" | cmp -s - "$dir/want.json" ||
  fail "the resumed run's config.json is not the saved one with epochs 3: $(without_info "$run/config.json" | diff "$dir/want.json" -)"
for key in cmt_version git_commit build_features device start_time; do
  grep -q "\"$key\": \"." "$run/config.json" || fail "config.json has no run_info $key" "$run/config.json"
done
grep -q "\"command_line\": \".*train --resume $run/last.h5 --epochs 3\"" "$run/config.json" ||
  fail "run_info does not hold the resumed run's command line" "$run/config.json"
grep -aq "\"command_line\":\".*train --resume $run/last.h5 --epochs 3\"" "$run/last.h5" || fail "last.h5 holds no run_info"
status=0
"$cmt" train --resume "$run/last.h5" --epochs 4 --lr 0.01 > "$dir/lr.log" 2>&1 || status=$?
[ "$status" -eq 2 ] || fail "--resume with another --lr: exit $status, expected 2" "$dir/lr.log"
grep -q "lr: 0.002 in the checkpoint, 0.01 now" "$dir/lr.log" ||
  fail "the refusal does not name lr with both values" "$dir/lr.log"
[ "$(steps_in "$run/steps.csv")" -eq 3 ] || fail "the refused resume touched the run"
echo "ok: --resume alone restores the saved configuration; a changed lr is refused"
