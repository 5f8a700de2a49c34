# Sourced by the CLI tests: the flags of a tiny CPU run on the tiny_dataset.sh fixture ($data).
tiny="--dataset $data --backbone resnet50 --width 0.125 --depth 0.34 --latent-dim 8 --batch-size 2 --device cpu --no-progress"
# fail MESSAGE [LOG]: prints the log (when given) and the message, and fails the test.
fail() {
  [ $# -gt 1 ] && cat "$2"
  echo "FAIL: $1"
  exit 1
}
# steps_in STEPS_CSV: the number of steps a run has logged so far (0 before its first).
steps_in() { cat "$1" 2>/dev/null | grep -c '^[0-9]' || true; }
# wait_for_steps STEPS_CSV N LOG: waits until the run has logged N steps (at most 60 s).
wait_for_steps() {
  waited=0
  while [ "$(steps_in "$1")" -lt "$2" ]; do
    waited=$((waited + 1))
    [ $waited -lt 600 ] || fail "$1: fewer than $2 steps after 60 s" "$3"
    sleep 0.1
  done
}
