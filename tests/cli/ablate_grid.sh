#!/bin/sh
# `cmt ablate grid` (Fig. 4): one branch transformed by default (SimCLR's protocol), a row without the
# contrastive loss, and a column of row averages. Usage: ablate_grid.sh CMT WORKDIR
set -eu
cmt=$1; dir=$2
. "$(dirname "$0")/tiny_data.sh"
tiny_xray_dataset x 12 3
common="--dataset $dir/x.h5 $tiny_model --steps 1 --batch-size 2"
"$cmt" ablate grid $common --transforms flip,rotate --out "$dir/grid" > "$dir/grid.log" 2>&1 || { cat "$dir/grid.log"; fail "grid"; }
python3 - "$dir/grid" <<'PY' || fail "grid.json"
import json, math, sys
g = json.load(open(sys.argv[1] + "/grid.json"))
assert g["protocol"] == "one branch transformed (SimCLR)", g["protocol"]
assert g["rows"] == ["flip", "rotate", "no L_cst"] and g["columns"] == ["flip", "rotate", "average"], (g["rows"], g["columns"])
gain = g["gain_points"]
assert len(gain) == 3 and all(len(r) == 3 for r in gain)
for r in gain:
    assert abs(r[2] - (r[0] + r[1]) / 2) < 1e-9, r
acc, base = g["accuracy"], g["baseline_accuracy"]
for key, (i, j) in {"flip": (0, 0), "flip+rotate": (0, 1), "rotate+flip": (1, 0), "rotate": (1, 1),
                    "no-contrastive-flip": (2, 0), "no-contrastive-rotate": (2, 1)}.items():
    assert abs(gain[i][j] - 100 * (acc[key] - base)) < 1e-9, key
PY
# Each cell ran with the protocol and lambda it names.
grep -q '"augment": "flip+rotate,one_branch=1"' "$dir/grid/grid-flip+rotate/config.json" || fail "pair cell: not one branch"
grep -q '"lambda": 0.0' "$dir/grid/grid-no-contrastive-rotate/config.json" || fail "no-contrastive row: lambda is not 0"
grep -q '"lambda": 0.25' "$dir/grid/grid-rotate/config.json" || fail "grid cell: lambda is not the run's"
grep -q '"augment": "none"' "$dir/grid/baseline/config.json" || fail "baseline: augmented"
"$cmt" ablate grid $common --transforms flip --both-branches --out "$dir/both" > "$dir/both.log" 2>&1 || { cat "$dir/both.log"; fail "grid both"; }
grep -q '"augment": "flip"' "$dir/both/grid-flip/config.json" || fail "--both-branches: one branch"
grep -q "svg" "$dir/grid/grid.svg" || fail "no heat map"
echo "ok: grid with one branch, a row without L_cst and row averages"
