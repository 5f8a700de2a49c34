#!/bin/sh
# An interrupted `cmt cv` continues where it stopped: Ctrl-C (SIGINT) checkpoints and exits 3 like
# SIGTERM; the same command again resumes the stopped fold from last.h5 (its steps.csv runs on
# without repeats), then trains the others; once every fold finished, a re-run trains nothing. A
# re-run with another configuration is refused (exit 2). Usage: cv_resume.sh CMT DATASET WORKDIR
set -eu
cmt=$1; data=$2; dir=$3
. "$(dirname "$0")/tiny_run_args.sh"
rm -rf "$dir"; mkdir -p "$dir"
cv=$dir/cv
epochs=100  # one step per epoch on the tiny dataset
"$cmt" cv $tiny --epochs $epochs --out "$cv" > "$dir/first.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
wait_for_steps "$cv/fold0/steps.csv" 3 "$dir/first.log"
kill -INT "$pid"
status=0
wait "$pid" || status=$?
[ "$status" -eq 3 ] || fail "Ctrl-C: exit $status, expected 3 after a checkpoint" "$dir/first.log"
[ -f "$cv/fold0/last.h5" ] && [ ! -f "$cv/fold0/eval.json" ] || fail "Ctrl-C wrote no checkpoint of fold 0" "$dir/first.log"
[ ! -d "$cv/fold1" ] || fail "fold 1 started although fold 0 was stopped"

"$cmt" cv $tiny --epochs $epochs --out "$cv" > "$dir/second.log" 2>&1 || fail "the second cmt cv" "$dir/second.log"
grep -q "fold 1/2 .*(resumed from last.h5)" "$dir/second.log" || fail "fold 0 was not resumed" "$dir/second.log"
steps=$(awk -F, 'NR > 1 { print $1 }' "$cv/fold0/steps.csv" | tr '\n' ' ')
[ "$steps" = "$(seq 1 $epochs | tr '\n' ' ')" ] || fail "fold 0's steps.csv after the resume: $steps"
[ -f "$cv/fold1/eval.json" ] && [ -f "$cv/cv.json" ] || fail "fold 1 or cv.json missing" "$dir/second.log"

cp "$cv/cv.json" "$dir/cv-before.json"
"$cmt" cv $tiny --epochs $epochs --out "$cv" > "$dir/third.log" 2>&1 || fail "the third cmt cv" "$dir/third.log"
[ "$(grep -c "finished earlier" "$dir/third.log")" -eq 2 ] || fail "a finished fold was trained again" "$dir/third.log"
cmp -s "$cv/cv.json" "$dir/cv-before.json" || fail "the summary of finished folds changed"

status=0
"$cmt" cv $tiny --epochs $epochs --lr 0.01 --out "$cv" > "$dir/other.log" 2>&1 || status=$?
[ "$status" -eq 2 ] && grep -q "lr: " "$dir/other.log" || fail "another lr into the same folder: exit $status, expected 2 naming lr" "$dir/other.log"
echo "ok: Ctrl-C checkpoints; cmt cv resumes the stopped fold, skips finished ones, refuses another configuration"
