#!/bin/sh
# `cmt compare` pairs folds by position: it must refuse runs that held out different samples, and a
# fold whose metric is not a number is an error (in `cmt cv` and in `cmt compare`), never dropped.
# Usage: compare_checks.sh CMT WORKDIR
set -eu
cmt=$1; dir=$2
. "$(dirname "$0")/tiny_data.sh"
# expect LOG MESSAGE COMMAND...: the command fails and says MESSAGE.
expect() {
  log=$1; msg=$2; shift 2
  if "$@" > "$log" 2>&1; then cat "$log"; fail "succeeded: $*"; fi
  grep -q "$msg" "$log" || { cat "$log"; fail "no '$msg' from: $*"; }
}
tiny_xray_dataset x7 12 7
tiny_xray_dataset x8 12 8
common="$tiny_model --steps 1 --batch-size 2 --augment flip"
"$cmt" cv --dataset "$dir/x7.h5" $common --out "$dir/a" > "$dir/a.log" 2>&1 || { cat "$dir/a.log"; fail "cv a"; }
"$cmt" cv --dataset "$dir/x7.h5" $common --lambda 0 --out "$dir/a0" > "$dir/a0.log" 2>&1 || { cat "$dir/a0.log"; fail "cv a0"; }
"$cmt" cv --dataset "$dir/x8.h5" $common --out "$dir/b" > "$dir/b.log" 2>&1 || { cat "$dir/b.log"; fail "cv b"; }
# Same dataset and folds: paired.
"$cmt" compare "$dir/a" "$dir/a0" > "$dir/same.log" 2>&1 || { cat "$dir/same.log"; fail "compare of the same folds"; }
grep -q "^accuracy" "$dir/same.log" || { cat "$dir/same.log"; fail "no accuracy row"; }
# Another dataset: refused.
expect "$dir/other.log" "held out different samples" "$cmt" compare "$dir/a" "$dir/b"
# A cv.json without the record of its held-out samples (written before it existed): refused.
mkdir -p "$dir/old"
python3 -c "import json,sys; j=json.load(open(sys.argv[1])); del j['held_out']; json.dump(j, open(sys.argv[2], 'w'))" "$dir/a/cv.json" "$dir/old/cv.json"
expect "$dir/old.log" "no record of its held-out samples" "$cmt" compare "$dir/a" "$dir/old"
# A non-numeric fold metric: an error naming the fold.
mkdir -p "$dir/nan"
python3 -c "import json,sys; j=json.load(open(sys.argv[1])); j['per_fold']['auc'][1] = None; json.dump(j, open(sys.argv[2], 'w'))" "$dir/a0/cv.json" "$dir/nan/cv.json"
expect "$dir/nan.log" "fold 1 has 'auc' = null, not a number" "$cmt" compare "$dir/a" "$dir/nan"
# A held-out fold without a positive sample has no AUC: `cmt cv` stops with an error naming the fold.
# `cmt prepare` puts a patient of every class in every fold, so the folds are moved afterwards: every
# covid19 sample into fold 1 (Debian's python3-h5py; the file format: docs/dataset-format.md).
"$cmt" prepare --input "$dir/raw-x7/xray/png" --out "$dir/one.h5" --modality xray --size 32 --folds 2 >/dev/null
/usr/bin/python3 - "$dir/one.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    names = [n.decode() if isinstance(n, bytes) else n for n in f["class_names"][()]]
    covid = names.index("covid19")
    folds = f["folds"][()]
    folds[f["labels"][()] == covid] = 1
    f["folds"][...] = folds
PY
expect "$dir/nopos.log" "fold 0: 'sensitivity' is null, not a number" "$cmt" cv --dataset "$dir/one.h5" $common --out "$dir/nopos"
echo "ok: compare pairs only the same held-out folds; non-numeric fold metrics are errors"
