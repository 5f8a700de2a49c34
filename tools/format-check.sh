#!/bin/sh
# Checks the formatting of a change, not of the whole tree: runs clang-format (style: .clang-format)
# on the lines of C++/CUDA files that differ from BASE (commits, staged and unstaged edits) and lists
# the files whose changed lines it would reformat, with the line numbers.
#
#   tools/format-check.sh [--fix] [BASE]
#
# BASE defaults to origin/main when that exists, else main; the diff is taken from the merge base of
# BASE and HEAD, so what BASE gained since is not counted. --fix reformats those lines in place.
# Exit status: 0 clean, 1 some changed lines need formatting, 2 usage or tool error.
set -eu
cd "$(git rev-parse --show-toplevel)"

fix=0
if [ "${1-}" = "--fix" ]; then
  fix=1
  shift
fi
base="${1-}"
if [ -z "$base" ]; then
  if git rev-parse -q --verify origin/main >/dev/null; then base=origin/main; else base=main; fi
fi
command -v clang-format >/dev/null 2>&1 || { echo "format-check: clang-format is not installed" >&2; exit 2; }
mb=$(git merge-base "$base" HEAD) || { echo "format-check: no merge base with '$base'" >&2; exit 2; }

# "<file> <first>:<last> ..." for each changed file: the added or modified line ranges (new numbering).
ranges=$(git diff -U0 --no-color --no-ext-diff --diff-filter=ACMR "$mb" -- '*.cpp' '*.h' '*.cu' '*.cuh' '*.hpp' '*.cc' |
  awk '
    /^\+\+\+ / { if (f != "" && r != "") print f r; f = substr($0, 7); r = ""; next }
    /^@@ / {
      split($3, a, ",")  # +start[,count]
      start = substr(a[1], 2); count = (2 in a) ? a[2] : 1
      if (count > 0) r = r " " start ":" (start + count - 1)
    }
    END { if (f != "" && r != "") print f r }')

status=0
nfiles=0
echo "$ranges" | {
  while read -r file lines; do
    [ -n "$file" ] && [ -f "$file" ] || continue
    set --
    for l in $lines; do set -- "$@" "--lines=$l"; done
    if [ "$fix" = 1 ]; then
      clang-format -i --style=file "$@" "$file"
      continue
    fi
    out=$(clang-format --dry-run --style=file "$@" "$file" 2>&1 | grep -E "^$file:[0-9]+:" || true)
    if [ -n "$out" ]; then
      at=$(echo "$out" | sed -E 's/^[^:]+:([0-9]+):.*/\1/' | sort -n | uniq | tr '\n' ' ')
      echo "$file: would reformat changed lines at $at"
      status=1
      nfiles=$((nfiles + 1))
    fi
  done
  if [ "$fix" = 0 ]; then
    if [ "$status" = 0 ]; then
      echo "format-check: the changed lines against $base follow .clang-format"
    else
      echo "format-check: $nfiles file(s) need formatting; tools/format-check.sh --fix $base formats those lines only"
    fi
  fi
  exit $status
}
