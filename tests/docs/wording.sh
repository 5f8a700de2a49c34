#!/bin/sh
# The documentation and the sources speak to cmt's users and maintainers. This check fails when they
# name how the work on them was organised instead: numbered tracker items, the vocabulary of borrowed
# machines (the whole words for a work period and for a loan), files that live outside this
# repository (the machines' catalogue, the external design notes: the design is docs/architecture.md),
# and the name of the tool that hands them out. The patterns below say exactly which words.
#
#   wording.sh ROOT    scans ROOT's docs/, README.md and source folders: the files git tracks when
#                      ROOT/.git exists, otherwise every file found there; prints FILE:LINE:TEXT for
#                      each hit and exits 1 if there is one (2 when there is nothing to scan).
#
# The patterns are written so that this file's own text does not match them (the word boundary \b
# cannot hold right after the letter b, a parenthesis in brackets, an escaped dot, [[:space:]] for a
# space), so the script scans itself like any other file and needs no exception.
set -eu
root=${1:?usage: wording.sh ROOT}
cd "$root"
paths="docs README.md CMakeLists.txt apps api bench cmake data emu engine examples include kernels models tests tools .ci"

list=$(mktemp)
trap 'rm -f "$list"' EXIT
if [ -e .git ]; then
  # shellcheck disable=SC2086
  git ls-files -- $paths >"$list"
else
  for p in $paths; do
    [ -e "$p" ] && find "$p" -type f ! -path '*/__pycache__/*' ! -path '*/.git/*'
  done >"$list"
fi
count=$(wc -l <"$list")
if [ "$count" -eq 0 ]; then
  echo "wording.sh: no files to scan under $root" >&2
  exit 2
fi

# -I: binary files are skipped; -s: a tracked file deleted from the work tree is not an error.
hits=$(tr '\n' '\0' <"$list" | xargs -0 grep -I -s -n -H -i -E \
  -e '\bissues?[[:space:]]*#?[0-9]+' \
  -e '[(]issue' \
  -e '\bsessions?\b' \
  -e '\blent\b' \
  -e '\blending\b' \
  -e 'kinds\.md' \
  -e 'design\.md' \
  -e 'the[[:space:]]+device[[:space:]]+library' || true)

if [ -n "$hits" ]; then
  echo "$hits"
  echo "wording.sh: $(echo "$hits" | wc -l) line(s) above name how the work was organised (tracker items," \
    "machine loans, files outside the repository); say what is true for a reader instead" \
    "(e.g. 'not yet measured on a GPU', a docs/ page)." >&2
  exit 1
fi
echo "wording.sh: $count files scanned, no hits"
