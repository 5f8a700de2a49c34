#!/bin/sh
# Stop signals reach one watcher thread, never a compute thread (engine/signals.h): during training
# the main thread and every thread started after the watcher (loader, OpenMP) block SIGTERM, SIGUSR1
# and SIGINT, one thread named cmt-signals takes them, and SIGTERM still checkpoints and exits 3.
# Threads that libraries start before main() (OpenBLAS's pool) cannot be covered and are only
# counted. Before training a signal ends cmt as usual (killed by it).
# Usage: stop_signals.sh CMT DATASET WORKDIR
set -eu
cmt=$1; data=$2; dir=$3
. "$(dirname "$0")/tiny_run_args.sh"
rm -rf "$dir"; mkdir -p "$dir"
run=$dir/run
OMP_NUM_THREADS=2 "$cmt" train $tiny --epochs 1000 --out "$run" > "$dir/train.log" 2>&1 &
pid=$!
trap 'kill -KILL "$pid" 2>/dev/null || true' EXIT
wait_for_steps "$run/steps.csv" 3 "$dir/train.log"

stop_bits=$(( (1 << 1) | (1 << 9) | (1 << 14) ))  # SIGINT 2, SIGUSR1 10, SIGTERM 15: bit (n - 1)
watcher=""
for task in /proc/"$pid"/task/*; do
  if [ "$(cat "$task/comm")" = cmt-signals ]; then
    [ -z "$watcher" ] || fail "two threads named cmt-signals" "$dir/train.log"
    watcher=$(basename "$task")
  fi
done
[ -n "$watcher" ] || fail "no thread named cmt-signals" "$dir/train.log"
blocking=0; before_main=0
for task in /proc/"$pid"/task/*; do
  tid=$(basename "$task")
  [ "$tid" != "$watcher" ] || continue
  if [ "$tid" -ne "$pid" ] && [ "$tid" -lt "$watcher" ]; then
    before_main=$((before_main + 1))  # started by a library before main()
    continue
  fi
  blocked=$(awk '/^SigBlk:/ { print $2 }' "$task/status")
  [ $(( 0x$blocked & stop_bits )) -eq $stop_bits ] ||
    fail "thread $tid ($(cat "$task/comm")) can take a stop signal: SigBlk $blocked" "$dir/train.log"
  blocking=$((blocking + 1))
done
[ "$blocking" -ge 2 ] || fail "only $blocking threads checked: expected the main thread and the loader's at least" "$dir/train.log"

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
trap - EXIT
[ "$status" -eq 3 ] || fail "SIGTERM during training: exit $status, expected 3" "$dir/train.log"
[ -f "$run/last.h5" ] || fail "SIGTERM wrote no checkpoint" "$dir/train.log"

# Before training nothing asks for a stop: the signal's default action ends the process.
"$cmt" synth --out "$dir/synth" --modality ct --count 100000 --size ct=32 > "$dir/synth.log" 2>&1 &
pid=$!
sleep 0.5
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
[ "$status" -eq 143 ] || fail "SIGTERM to cmt synth: exit $status, expected 143 (killed by SIGTERM)" "$dir/synth.log"
echo "ok: $blocking threads block the stop signals ($before_main started before main), one watcher takes them; SIGTERM checkpoints (exit 3); before training it kills"
