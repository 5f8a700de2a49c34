#!/bin/sh
# `cmt cv --probe` (Table 4 under cross-validation): each fold pre-trains F by the contrastive loss
# alone on its own training part, then probes it; no fold reuses another fold's pre-training.
# Usage: cv_probe.sh CMT WORKDIR
set -eu
cmt=$1; dir=$2
. "$(dirname "$0")/tiny_data.sh"
tiny_xray_dataset x 12 4
common="--dataset $dir/x.h5 $tiny_model --steps 1 --batch-size 2 --augment flip"
"$cmt" cv $common --probe --out "$dir/probe" > "$dir/probe.log" 2>&1 || { cat "$dir/probe.log"; fail "cv --probe"; }
python3 - "$dir/probe" <<'PY' || fail "probe folders"
import json, sys
root = sys.argv[1]
cv = json.load(open(root + "/cv.json"))
assert cv["fold_ids"] == [0, 1] and "linear probe" in cv["pipeline"], cv
for f in (0, 1):
    pre = json.load(open(f"{root}/pretrain/fold{f}/config.json"))
    probe = json.load(open(f"{root}/fold{f}/config.json"))
    # The pre-training of fold f trained on fold f's training part only (its own held-out fold is f).
    assert pre["fold"] == f and pre["cls_weight"] == 0 and pre["lambda"] > 0 and pre["init_from"] == "", pre
    assert probe["fold"] == f and probe["freeze_features"] and probe["lambda"] == 0 and probe["augment"] == "none", probe
    assert probe["init_from"] == f"{root}/pretrain/fold{f}/last.h5", probe["init_from"]
    ev = json.load(open(f"{root}/fold{f}/eval.json"))
    assert ev["fold"] == f and abs(ev["accuracy"] - cv["per_fold"]["accuracy"][f]) < 1e-12
PY
# The probe's cross-validation pairs with a classification-only one on the same folds.
"$cmt" cv $common --lambda 0 --out "$dir/cls" > "$dir/cls.log" 2>&1 || { cat "$dir/cls.log"; fail "cv lambda 0"; }
"$cmt" compare "$dir/probe" "$dir/cls" > "$dir/compare.log" 2>&1 || { cat "$dir/compare.log"; fail "compare"; }
# One checkpoint for every fold: warned about; with --probe: refused, as is --slurm.
"$cmt" cv $common --init-from "$dir/probe/pretrain/fold0/last.h5" --out "$dir/shared" > "$dir/shared.log" 2>&1 || { cat "$dir/shared.log"; fail "cv --init-from"; }
grep -q "warning: every fold starts from the same --init-from" "$dir/shared.log" || { cat "$dir/shared.log"; fail "no leak warning"; }
if "$cmt" cv $common --probe --slurm --out "$dir/slurm" > "$dir/slurm.log" 2>&1; then fail "--probe --slurm accepted"; fi
grep -q "no --slurm script" "$dir/slurm.log" || { cat "$dir/slurm.log"; fail "--probe --slurm: unclear error"; }
echo "ok: per-fold contrastive pre-training and probe"
