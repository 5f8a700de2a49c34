#!/bin/sh
# `cmt explain` end to end on tiny phantom runs (docs/explain.md): X-ray studies and dataset samples,
# two runs side by side, Grad-CAM++ and a chosen class, a CT with its planes and montage; what it
# writes checked by explain_check.py; bad inputs and bad command lines refused clearly.
# Usage: explain.sh CMT WORKDIR
set -eu
cmt=$1; dir=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$dir"; mkdir -p "$dir"; cd "$dir"
fail() { echo "FAIL: $*"; exit 1; }
check() { /usr/bin/python3 "$here/explain_check.py" "$@" || fail "explain_check.py $*"; }
expect_fail() {  # expect_fail CODE LOG PATTERN CMT-ARGS...: the command must exit CODE and say PATTERN
  code=$1; log=$2; pattern=$3; shift 3
  rc=0; "$cmt" "$@" > "$log" 2>&1 || rc=$?
  [ "$rc" -eq "$code" ] || { cat "$log"; fail "cmt $* exited $rc, want $code"; }
  grep -q "$pattern" "$log" || { cat "$log"; fail "cmt $* does not say '$pattern'"; }
}
tiny="--backbone resnet50 --width 0.125 --depth 0.34 --latent-dim 8 --batch-size 2 --steps 2 --epochs 1 --device cpu --no-progress"
"$cmt" synth --out raw --modality both --format png --count 6 --seed 3 --size ct=64,xray=64 >/dev/null
"$cmt" prepare --input raw/xray/png --out xray.h5 --size 64 --folds 2 >/dev/null
"$cmt" prepare --input raw/ct/png --out ct.h5 --size 64 --folds 2 >/dev/null
"$cmt" train --dataset xray.h5 $tiny --out xa > xa.log 2>&1 || { cat xa.log; fail "train xa"; }
"$cmt" train --dataset xray.h5 $tiny --lambda 0 --out xb > xb.log 2>&1 || { cat xb.log; fail "train xb"; }
"$cmt" train --dataset ct.h5 $tiny --out ct > ct.log 2>&1 || { cat ct.log; fail "train ct"; }

# X-ray: a folder of PNGs and two dataset samples, one run.
"$cmt" explain --run xa --out one raw/xray/png/covid19 --dataset xray.h5 --samples 0,3 --device cpu > one.log 2>&1 ||
  { cat one.log; fail "explain one run"; }
check one 1 1,64,64
[ "$(grep -c '"source"' one/explain.json)" -eq 4 ] || fail "one/explain.json does not list 2 studies and 2 samples"
grep -q '"checkpoint": "best"' one/explain.json || fail "the default checkpoint is not best.h5"
grep -q '"true_class": "' one/explain.json || fail "a dataset sample has no true_class in explain.json"
# Two runs side by side, Grad-CAM++, the class given by name.
"$cmt" explain --run xa --compare xb --out two --dataset xray.h5 --samples 1,2 --method gradcampp --class normal > two.log 2>&1 ||
  { cat two.log; fail "explain --compare"; }
check two 2 1,64,64
[ "$(grep -c '"class": "normal"' two/explain.json)" -eq 4 ] || fail "--class normal is not the class explained"
grep -q '"method": "gradcampp"' two/explain.json || fail "the method is not recorded"
# Two folds of one name are labelled by their parents.
mkdir A B; cp -r xa A/fold0; cp -r xb B/fold0
"$cmt" explain --run A/fold0 --compare B/fold0 --out labels --dataset xray.h5 --samples 0 > labels.log 2>&1 || { cat labels.log; fail "labels"; }
grep -q '"label": "A/fold0"' labels/explain.json && grep -q '"label": "B/fold0"' labels/explain.json || fail "runs not labelled A/fold0, B/fold0"
# CT: planes and montage.
"$cmt" explain --run ct --out vol --dataset ct.h5 --samples 0 --checkpoint last > vol.log 2>&1 || { cat vol.log; fail "explain CT"; }
check vol 1 64,64,64
grep -q '"checkpoint": "last"' vol/explain.json || fail "--checkpoint last is not recorded"

# --score: the samples' maps as maps files, equal to the per-input maps, scored against the lesion masks;
# cmt explain-score on those files says the same.
"$cmt" explain --run xa --compare xb --out scored --dataset xray.h5 --samples 5,0,1,2,3,4 --score --tolerance 1 > scored.log 2>&1 ||
  { cat scored.log; fail "explain --score"; }
grep -q "pointing" scored.log || { cat scored.log; fail "explain --score prints no pointing-game score"; }
"$cmt" explain-score --maps scored/maps.h5 --compare scored/maps-compare.h5 --dataset xray.h5 --tolerance 1 --json again.json > again.log 2>&1 ||
  { cat again.log; fail "explain-score on explain's maps"; }
/usr/bin/python3 - <<'PY' || fail "the maps files or scores of explain --score"
import json, h5py, numpy as np
ex = json.load(open("scored/explain.json"))
inputs = {int(i["source"].rsplit("#", 1)[1]): i for i in ex["inputs"]}
for name, key in (("maps.h5", "map"), ("maps-compare.h5", "map_compare")):
    with h5py.File("scored/" + name) as f:
        index = list(f["sample_index"][...])
        assert index == [5, 0, 1, 2, 3, 4], f"{name}: samples {index}"
        for k, s in enumerate(index):
            with h5py.File("scored/" + inputs[s]["files"]["maps"]) as g:
                assert np.array_equal(f["maps"][k], g[key][...]), f"{name}: map of sample {s} differs from {inputs[s]['files']['maps']}"
ours, theirs = json.load(open("scored/scores.json")), json.load(open("again.json"))
for side in ("a", "b"):
    a, b = ours[side], theirs[side]
    assert a["samples"] == b["samples"] and a["pointing_game"] == b["pointing_game"], f"{side}: explain --score and explain-score differ"
    assert a["scored"] + a["no_mask"] + a["empty_mask"] == 6, f"{side}: {a['scored']} scored + {a['empty_mask']} empty of 6"
assert ours["tolerance"] == 1 and ex["scores"]["tolerance"] == 1
PY
mkdir nomask; cp -r raw/xray/png/normal raw/xray/png/covid19 nomask/
"$cmt" prepare --input nomask --out nomask.h5 --size 64 --folds 2 >/dev/null
expect_fail 2 nomask.log "has no lesion masks" explain --run xa --out nomaskout --dataset nomask.h5 --samples 0 --score
expect_fail 2 scoreds.log "score scores the maps of --dataset samples" explain --run xa --out scoreds raw/xray/png/normal --score

# A file that does not decode: exit 1, named, listed with its error; the others still explained.
mkdir bad; cp raw/xray/png/normal/*.png bad/; printf 'not a png' > bad/broken.png
expect_fail 1 bad.log "broken.png" explain --run xa --out badout bad
grep -q '"error"' badout/explain.json || fail "the broken file has no error entry"
check badout 1 1,64,64
# A 2D image for a CT model, and a CT dataset for an X-ray model.
expect_fail 1 kind.log "P0000.png: the input is a PNG image (2D X-ray), but the run was trained on 3D CT" explain --run ct --out kind bad/P0000.png
expect_fail 1 kindds.log "ct.h5: ct samples of 64x64x64, but xa takes xray inputs" explain --run xa --out kindds --dataset ct.h5 --samples 0
# Bad command lines: exit 2.
expect_fail 2 none.log "nothing to explain" explain --run xa --out none
expect_fail 2 range.log "samples 99: xray.h5 holds 6 samples" explain --run xa --out range --dataset xray.h5 --samples 99
expect_fail 2 pair.log "go together" explain --run xa --out pair --samples 1
expect_fail 2 class.log "class lung: xa has the classes" explain --run xa --out class --dataset xray.h5 --samples 0 --class lung
expect_fail 2 method.log "method" explain --run xa --out method --dataset xray.h5 --samples 0 --method saliency
expect_fail 2 cmp.log "compare ct: ct inputs" explain --run xa --compare ct --out cmp --dataset xray.h5 --samples 0
echo "ok: cmt explain"
