#!/bin/sh
# expect_flagged.sh REGEX COMMAND [ARG...]: runs COMMAND and passes only when it exits non-zero AND
# its output (stdout and stderr, lines joined by spaces so that REGEX may span them) matches the
# extended regular expression REGEX. The output is printed either way.
if [ $# -lt 2 ]; then
  echo "usage: expect_flagged.sh REGEX COMMAND [ARG...]" >&2
  exit 2
fi
regex=$1
shift
out=$(mktemp) || exit 2
trap 'rm -f "$out"' EXIT
"$@" >"$out" 2>&1
rc=$?
cat "$out"
if [ "$rc" -eq 0 ]; then
  echo "expect_flagged: FAIL: '$*' exited 0: the bug was not flagged"
  exit 1
fi
if tr '\n' ' ' <"$out" | grep -Eq -- "$regex"; then
  echo "expect_flagged: ok: '$*' exited $rc and its output matches: $regex"
  exit 0
fi
echo "expect_flagged: FAIL: '$*' exited $rc but its output does not match: $regex"
exit 1
