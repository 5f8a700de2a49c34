#!/bin/sh
# What `cmt eval` evaluates, and where it writes: a run on its held-out fold from any directory
# (the dataset found by its recorded absolute path, checked by size and header hash); an external
# dataset whole, into eval-NAME.json and friends, after checks of shape and modality; `--cv`
# refuses a missing or unfinished fold. Usage: eval_scope.sh CMT WORKDIR
set -eu
cmt=$1; dir=$2
rm -rf "$dir"; mkdir -p "$dir/elsewhere"
fail() { echo "FAIL: $*"; exit 1; }
expect_fail() {  # expect_fail LOG PATTERN CMT-ARGS...: the command must fail and say PATTERN
  log=$1; pattern=$2; shift 2
  if "$cmt" "$@" > "$dir/$log" 2>&1; then cat "$dir/$log"; fail "cmt $* succeeded"; fi
  grep -q "$pattern" "$dir/$log" || { cat "$dir/$log"; fail "cmt $* does not say '$pattern'"; }
}
cd "$dir"
"$cmt" synth --out raw --modality both --format png --count 6 --seed 5 --size ct=8,xray=8 >/dev/null
"$cmt" synth --out rawx --modality ct --format dicom --count 12 --seed 9 --size ct=8 >/dev/null
"$cmt" prepare --input raw/ct/png --out ct.h5 --size 8 --folds 2 >/dev/null
"$cmt" prepare --input rawx/ct/dicom --out ext.h5 --size 8 --folds 4 >/dev/null
"$cmt" prepare --input rawx/ct/dicom --out ext16.h5 --size 16 --folds 4 >/dev/null
"$cmt" prepare --input raw/xray/png --out xray.h5 --size 8 --folds 2 >/dev/null
"$cmt" cv --dataset ct.h5 --backbone resnet50 --width 0.125 --depth 0.34 --latent-dim 8 --batch-size 2 --steps 1 --epochs 1 \
  --device cpu --no-progress --out cv > cv.log 2>&1 || { cat cv.log; fail "cmt cv"; }

# From another directory: the relative path in config.json does not resolve there, the recorded one does.
(cd elsewhere && "$cmt" eval --run ../cv/fold0 > eval.log 2>&1) || { cat elsewhere/eval.log; fail "eval from another directory"; }
grep -q "held-out fold 0 of .*ct.h5 (3 samples)" elsewhere/eval.log || { cat elsewhere/eval.log; fail "not the held-out fold"; }
# The single-run table: no mean/std columns, AUC as a fraction, the positive class named.
if grep -q " std " elsewhere/eval.log; then fail "a single run printed a std column"; fi
grep -Eq "^  auc +(0|1)\.[0-9]{4}$|^  auc +-$" elsewhere/eval.log || { cat elsewhere/eval.log; fail "AUC not printed as 0.xxxx"; }
grep -q "^positive class: covid19" elsewhere/eval.log || fail "the positive class is not named"
if grep -q "nan" elsewhere/eval.log; then cat elsewhere/eval.log; fail "nan printed"; fi
# predictions.csv: one row per held-out sample with patient, source, label and probabilities.
head -1 cv/fold0/predictions.csv | grep -qx "patient_id,source_path,label,predicted,p_normal,p_covid19,p_pneumonia" ||
  fail "predictions.csv header: $(head -1 cv/fold0/predictions.csv)"
[ "$(tail -n +2 cv/fold0/predictions.csv | wc -l)" -eq 3 ] || fail "predictions.csv rows: $(cat cv/fold0/predictions.csv)"
tail -n +2 cv/fold0/predictions.csv | grep -q "^P[0-9]*,raw/ct/png/" || fail "predictions.csv lacks patient and source"
grep -q ">true<" cv/fold0/confusion.svg || fail "confusion.svg has no 'true' axis label"

# The dataset moved: refused with a hint, then found with --dataset (same identity: the held-out fold).
mv ct.h5 moved.h5
expect_fail moved.log "give the dataset with --dataset\|Give the dataset with --dataset" eval --run cv/fold0
"$cmt" eval --run cv/fold0 --dataset moved.h5 | grep -q "held-out fold 0 of moved.h5 (3 samples)" || fail "--dataset of the moved file"
# Another file under the run's name (prepared again from other data) is not taken for it.
cp ext.h5 ct.h5
expect_fail other.log "ct.h5: another file" eval --run cv/fold0
mv moved.h5 ct.h5

# An external dataset: all 12 samples, its own files, the run's own eval.json untouched.
cp cv/fold0/eval.json own-eval.json
"$cmt" eval --run cv/fold0 --dataset ext.h5 > ext.log 2>&1 || { cat ext.log; fail "eval on ext.h5"; }
grep -q "all 12 samples of ext.h5" ext.log || { cat ext.log; fail "ext.h5 not evaluated whole"; }
for f in eval-ext.json predictions-ext.csv roc-ext.svg confusion-ext.svg; do [ -f cv/fold0/$f ] || fail "no $f"; done
[ "$(tail -n +2 cv/fold0/predictions-ext.csv | wc -l)" -eq 12 ] || fail "predictions-ext.csv has not 12 rows"
cmp -s own-eval.json cv/fold0/eval.json || fail "the run's own eval.json was overwritten"
expect_fail shape.log "sample shape .* but cv/fold0 was trained on" eval --run cv/fold0 --dataset ext16.h5
expect_fail modality.log "modality 'xray', but cv/fold0 was trained on 'ct'" eval --run cv/fold0 --dataset xray.h5
[ ! -e cv/fold0/eval-ext16.json ] || fail "a refused dataset left eval-ext16.json"

# --cv: complete, then a fold missing, then a fold cut short.
"$cmt" eval --cv cv > cvall.log 2>&1 || { cat cvall.log; fail "eval --cv"; }
grep -q "folds evaluated: 0, 1 (of 2)" cvall.log || { cat cvall.log; fail "the evaluated folds are not listed"; }
grep -q '"complete": true' cv/cv.json || fail "cv.json not marked complete"
cp -r cv cv-missing; rm -r cv-missing/fold1 cv-missing/cv.json
expect_fail missing.log "fold 1: missing" eval --cv cv-missing
[ ! -e cv-missing/cv.json ] || fail "a refused partial CV wrote cv.json"
"$cmt" eval --cv cv-missing --allow-partial > partial.log 2>&1 || { cat partial.log; fail "--allow-partial"; }
grep -q "PARTIAL" partial.log && grep -q '"complete": false' cv-missing/cv.json || fail "a partial CV is not marked"
cp -r cv cv-short  # fold 1's config asks for 5 epochs; its last.h5 holds 1
sed -i 's/"epochs": 1,/"epochs": 5,/; s/"steps": 1,/"steps": 0,/' cv-short/fold1/config.json
expect_fail short.log "fold 1: training stopped at epoch 1 of 5" eval --cv cv-short
echo "ok: eval finds its dataset from anywhere, evaluates external sets whole into their own files, refuses partial CVs"
