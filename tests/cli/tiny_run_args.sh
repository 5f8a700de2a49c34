# Sourced by the CLI tests: the flags of a tiny CPU run on the tiny_dataset.sh fixture ($data).
tiny="--dataset $data --backbone resnet50 --width 0.125 --depth 0.34 --latent-dim 8 --batch-size 2 --device cpu --no-progress"
# fail MESSAGE [LOG]: prints the log (when given) and the message, and fails the test.
fail() {
  [ $# -gt 1 ] && cat "$2"
  echo "FAIL: $1"
  exit 1
}
