#!/bin/sh
# Faults while writing: a full disk (a small tmpfs in a private mount namespace), a file-size limit
# (EFBIG), a read-only output folder, the run folder deleted during a run, kill -9 in the middle of
# `cmt prepare` and of a checkpoint write, and a dataset replaced under a resumed run. Each must end
# with a clear error naming the path and the cause, the previous dataset or checkpoint intact, and
# nothing half-written under a final name.
# Usage: write_faults.sh CMT KILL_ON_WRITE_LIBRARY DATASET WORKDIR
set -eu
cmt=$1; killer=$2; data=$3; dir=$4
. "$(dirname "$0")/tiny_run_args.sh"
rm -rf "$dir"; mkdir -p "$dir"
cd "$dir"
# expect_error LOG TEXT...: the command failed (exit 1) and its log holds each TEXT.
expect_error() {
  log=$1; shift
  for text in "$@"; do grep -qF -- "$text" "$log" || fail "no '$text' in the error" "$log"; done
}
# no_leftovers FOLDER: no temporary file is left in FOLDER.
no_leftovers() {
  left=$(find "$1" -name '*.tmp*' | head -1)
  [ -z "$left" ] || fail "$left was left behind"
}
prepare() { "$cmt" prepare --input raw/ct/dicom --modality ct --folds 2 "$@"; }

"$cmt" synth --out raw --modality ct --format dicom --count 6 --size ct=16 >/dev/null
prepare --out old.h5 --size 8 >/dev/null
"$cmt" dataset info old.h5 >old.info

# The disk fills up while the dataset is written: ENOSPC, the old dataset under the name is kept.
if unshare -rm true 2>/dev/null; then
  mkdir full
  status=0
  unshare -rm sh -c "mount -t tmpfs -o size=48k tmpfs full && cp old.h5 full/ds.h5 &&
    '$cmt' prepare --input raw/ct/dicom --modality ct --folds 2 --out full/ds.h5 --size 16 --compression 0 >prepare-full.log 2>&1;
    echo \$? >full.status; cmp -s old.h5 full/ds.h5 && echo same >full.kept; find full -name '*.tmp*' >full.left" || true
  [ "$(cat full.status)" = 1 ] || fail "prepare on a full disk: exit $(cat full.status), expected 1" prepare-full.log
  expect_error prepare-full.log "full/ds.h5: cannot write the dataset (No space left on device)" "nothing was written under this name"
  [ -f full.kept ] || fail "the dataset already under full/ds.h5 was changed" prepare-full.log
  [ ! -s full.left ] || fail "$(cat full.left) was left on the full disk"
  echo "ok: full disk (tmpfs): clear error, old dataset kept, no temporary file left"

  # A read-only output folder.
  mkdir ro
  unshare -rm sh -c "mount -t tmpfs -o ro,size=48k tmpfs ro &&
    '$cmt' prepare --input raw/ct/dicom --modality ct --folds 2 --out ro/ds.h5 --size 8 >prepare-ro.log 2>&1; echo \$? >ro.status" || true
  [ "$(cat ro.status)" = 1 ] || fail "prepare into a read-only folder: exit $(cat ro.status), expected 1" prepare-ro.log
  expect_error prepare-ro.log "ro/ds.h5.tmp-" "cannot create the dataset file (Read-only file system)"
  echo "ok: read-only folder: clear error"
else
  echo "note: no private mount namespace here (unshare -rm fails): the full disk is shown by the file-size limit below only"
fi

# A file-size limit (ulimit -f, in 512-byte blocks): EFBIG, not death by SIGXFSZ.
cp old.h5 big.h5
status=0
sh -c 'ulimit -f 40 && exec "$@"' limited "$cmt" prepare --input raw/ct/dicom --modality ct --folds 2 --out big.h5 --size 16 \
  --compression 0 >prepare-big.log 2>&1 || status=$?
[ "$status" -eq 1 ] || fail "prepare past a file-size limit: exit $status, expected 1" prepare-big.log
expect_error prepare-big.log "big.h5: cannot write the dataset (File too large)"
cmp -s old.h5 big.h5 || fail "the dataset already under big.h5 was changed"
no_leftovers .
echo "ok: file-size limit: clear error, old dataset kept"

# kill -9 in the middle of writing the dataset: the old one under the name is intact.
cp old.h5 killed.h5
status=0
CMT_KILL_MATCH=killed.h5.tmp- LD_PRELOAD=$killer prepare --out killed.h5 --size 8 >prepare-killed.log 2>&1 || status=$?
[ "$status" -eq 137 ] || fail "prepare under the kill library: exit $status, expected 137 (SIGKILL)" prepare-killed.log
ls killed.h5.tmp-* >/dev/null 2>&1 || fail "the killed prepare had not started its temporary file"
cmp -s old.h5 killed.h5 || fail "kill -9 during prepare changed the dataset under its final name"
"$cmt" dataset info killed.h5 >killed.info || fail "the dataset under killed.h5 does not open after kill -9"
rm -f killed.h5.tmp-*
echo "ok: kill -9 during prepare: the dataset under the name is intact"

# kill -9 in the middle of the second checkpoint write: the first is intact and the run resumes.
status=0
CMT_KILL_MATCH=last.h5.tmp CMT_KILL_AFTER_RENAMES=1 LD_PRELOAD=$killer \
  "$cmt" train $tiny --epochs 3 --out killed-run >train-killed.log 2>&1 || status=$?
[ "$status" -eq 137 ] || fail "train under the kill library: exit $status, expected 137 (SIGKILL)" train-killed.log
[ -f killed-run/last.h5.tmp ] || fail "the killed run had not started its second checkpoint" train-killed.log
"$cmt" train --resume killed-run/last.h5 --epochs 2 >train-resumed.log 2>&1 ||
  fail "the checkpoint under last.h5 does not resume after kill -9 during the next write" train-resumed.log
grep -q "epoch 2/2" train-resumed.log || fail "the resumed run did not train epoch 2" train-resumed.log
echo "ok: kill -9 during a checkpoint write: the previous checkpoint resumes"

# A full disk while a resumed run writes (its config.json, then checkpoints): the files under their
# names are kept.
if unshare -rm true 2>/dev/null; then
  mkdir fullrun
  unshare -rm sh -c "mount -t tmpfs -o size=16m tmpfs fullrun &&
    '$cmt' train $tiny --epochs 1 --out fullrun/run >train-first.log 2>&1 && cp fullrun/run/last.h5 first.h5 && cp fullrun/run/best.h5 first-best.h5 &&
    dd if=/dev/zero of=fullrun/filler bs=4k 2>/dev/null; rm -f fullrun/run/last.h5.tmp;
    '$cmt' train --resume fullrun/run/last.h5 --epochs 2 >train-full.log 2>&1; echo \$? >train-full.status;
    cmp -s first.h5 fullrun/run/last.h5 && cmp -s first-best.h5 fullrun/run/best.h5 && echo same >train-full.kept; find fullrun -name '*.tmp*' >train-full.left" || true
  [ "$(cat train-full.status)" = 1 ] || fail "training on a full disk: exit $(cat train-full.status), expected 1" train-full.log
  grep -qE "fullrun/run/[a-z.]+: (cannot write|write failed) \(No space left on device\)" train-full.log ||
    fail "no error naming the file and the full disk" train-full.log
  [ -f train-full.kept ] || fail "the checkpoints under last.h5 and best.h5 changed on a full disk" train-full.log
  [ ! -s train-full.left ] || fail "$(cat train-full.left) was left on the full disk"
  echo "ok: full disk during a resumed run: clear error, previous checkpoints kept"
fi

# The run folder deleted while the run goes on: the next write fails, naming the path and the cause.
"$cmt" train $tiny --epochs 50 --out gone >train-gone.log 2>&1 &
pid=$!
wait_for_steps gone/steps.csv 1 train-gone.log
tries=0
until rm -rf gone 2>/dev/null; do  # the run may add a file while the folder is being emptied
  tries=$((tries + 1))
  [ $tries -lt 50 ] || fail "cannot delete the run folder"
done
status=0
wait $pid || status=$?
[ "$status" -eq 1 ] || fail "a run whose folder was deleted: exit $status, expected 1" train-gone.log
expect_error train-gone.log "gone/" "No such file or directory"
echo "ok: run folder deleted: clear error"

# A dataset replaced under a resumed run: refused; the original again resumes.
cp "$data" mine.h5
"$cmt" train $(echo "$tiny" | sed "s|--dataset $data|--dataset mine.h5|") --epochs 1 --out swapped >train-swap.log 2>&1 || fail "first run" train-swap.log
mv mine.h5 original.h5
"$cmt" prepare --input raw/ct/dicom --out mine.h5 --modality ct --size 8 --folds 2 --seed 9 >/dev/null
status=0
"$cmt" train --resume swapped/last.h5 --epochs 2 >resume-swap.log 2>&1 || status=$?
[ "$status" -eq 1 ] || fail "resume on a replaced dataset: exit $status, expected 1" resume-swap.log
expect_error resume-swap.log "mine.h5 is not the dataset this run was trained on" "replaced or rewritten"
mv original.h5 mine.h5
"$cmt" train --resume swapped/last.h5 --epochs 2 >resume-back.log 2>&1 || fail "resume on the original dataset" resume-back.log
echo "ok: a replaced dataset is refused on resume; the original resumes"
