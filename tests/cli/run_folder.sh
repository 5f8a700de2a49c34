#!/bin/sh
# One run per folder: a second `cmt train` into a run's folder is refused (exit 2) and names
# --resume and --overwrite; --overwrite replaces the run (no old epoch files, steps.csv not
# appended to); by default only last.h5 and best.h5 are kept, --checkpoint-every with
# --keep-last-n keeps the newest N weights-only epoch files. Usage: run_folder.sh CMT DATASET WORKDIR
set -eu
cmt=$1; data=$2; dir=$3
. "$(dirname "$0")/tiny_run_args.sh"
rm -rf "$dir"; mkdir -p "$dir"
run=$dir/run
"$cmt" train $tiny --epochs 3 --out "$run" > "$dir/first.log" 2>&1 || fail "first run" "$dir/first.log"
[ "$(ls "$run" | grep -c '\.h5$')" -eq 2 ] && [ -f "$run/last.h5" ] && [ -f "$run/best.h5" ] ||
  fail "by default only last.h5 and best.h5 are kept: $(ls "$run")"
status=0
"$cmt" train $tiny --epochs 3 --out "$run" > "$dir/again.log" 2>&1 || status=$?
[ "$status" -eq 2 ] || fail "a second run into $run exited $status, expected 2" "$dir/again.log"
grep -q "is not empty" "$dir/again.log" && grep -q -- "--resume $run/last.h5" "$dir/again.log" &&
  grep -q -- "--overwrite" "$dir/again.log" || fail "the refusal does not name --resume and --overwrite" "$dir/again.log"
[ "$(grep -c '^[0-9]' "$run/steps.csv")" -eq 3 ] || fail "the refused run touched steps.csv"

# --overwrite: the earlier run's files go, the new run's logs start at step 1, other files stay.
echo "notes" > "$run/notes.txt"
"$cmt" train $tiny --epochs 4 --checkpoint-every 1 --keep-last-n 2 --overwrite --out "$run" > "$dir/over.log" 2>&1 ||
  fail "--overwrite" "$dir/over.log"
[ -f "$run/notes.txt" ] || fail "--overwrite removed a file that is not the run's"
grep -q "kept the others (notes.txt)" "$dir/over.log" || fail "--overwrite does not name the file it kept" "$dir/over.log"
steps=$(awk -F, 'NR > 1 { printf "%s ", $1 }' "$run/steps.csv")
[ "$steps" = "1 2 3 4 " ] || fail "steps.csv after --overwrite holds steps '$steps', expected '1 2 3 4 '"
[ "$(ls "$run" | grep -c '^epoch.*\.h5$')" -eq 2 ] && [ -f "$run/epoch0003.h5" ] && [ -f "$run/epoch0004.h5" ] ||
  fail "--keep-last-n 2 should leave epoch0003.h5 and epoch0004.h5: $(ls "$run")"

# Periodic checkpoints hold weights only: evaluation reads them, resuming from one is refused.
"$cmt" eval --run "$run" --checkpoint "$run/epoch0003.h5" > "$dir/eval.log" 2>&1 || fail "eval of a weights-only epoch file" "$dir/eval.log"
status=0
"$cmt" train --resume "$run/epoch0003.h5" --epochs 5 --out "$dir/from-epoch" > "$dir/resume-epoch.log" 2>&1 || status=$?
[ "$status" -eq 1 ] && grep -q "no optimizer state" "$dir/resume-epoch.log" ||
  fail "resuming a weights-only epoch file: exit $status, expected 1 naming the missing optimizer state" "$dir/resume-epoch.log"
# --checkpoint-optimizer makes them resumable.
"$cmt" train $tiny --epochs 2 --checkpoint-every 1 --checkpoint-optimizer --out "$dir/full" > "$dir/full.log" 2>&1 ||
  fail "--checkpoint-optimizer" "$dir/full.log"
"$cmt" train --resume "$dir/full/epoch0001.h5" --out "$dir/from-full" > "$dir/from-full.log" 2>&1 ||
  fail "resuming an epoch file written with --checkpoint-optimizer" "$dir/from-full.log"
status=0
"$cmt" train --resume "$run/last.h5" --overwrite > "$dir/both.log" 2>&1 || status=$?
[ "$status" -eq 2 ] || fail "--resume with --overwrite: exit $status, expected 2" "$dir/both.log"
echo "ok: a second run is refused; --overwrite replaces the run; last/best by default; keep_last_n; weights-only epoch files"
