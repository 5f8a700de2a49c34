#!/bin/sh
# The binary task (`--task binary`): COVID-19 against the other classes, merged when the dataset is
# opened. Against a ternary run of the same fold: the same held-out samples, each label merged
# (COVID-19 stays COVID-19, normal and pneumonia become "other"); the metrics in eval.json are
# recomputed from its own predictions (accuracy, sensitivity, specificity, AUC with ties counted
# one half); `cmt eval --run` reopens the dataset with the run's task and agrees.
# Usage: binary_task.sh CMT DATASET WORKDIR
set -eu
cmt=$1; data=$2; dir=$3
. "$(dirname "$0")/tiny_run_args.sh"
rm -rf "$dir"; mkdir -p "$dir"
"$cmt" train $tiny --steps 2 --out "$dir/ternary" > "$dir/ternary.log" 2>&1 || fail "ternary run" "$dir/ternary.log"
"$cmt" train $tiny --steps 2 --task binary --out "$dir/binary" > "$dir/binary.log" 2>&1 || fail "binary run" "$dir/binary.log"
grep -q "classes 2" "$dir/binary.log" || fail "the binary model does not have two classes" "$dir/binary.log"
cp "$dir/binary/eval.json" "$dir/eval-at-training.json"
"$cmt" eval --run "$dir/binary" > "$dir/eval.log" 2>&1 || fail "cmt eval --run of the binary run" "$dir/eval.log"
python3 - "$dir" <<'PY' || fail "binary labels or metrics"
import json, sys
d = sys.argv[1]
t = json.load(open(d + "/ternary/eval.json"))
b = json.load(open(d + "/binary/eval.json"))
again = json.load(open(d + "/eval-at-training.json"))
pos = t["class_names"].index(t["positive_class"])
assert b["class_names"] == [t["positive_class"], "other"], b["class_names"]
assert b["positive_class"] == t["positive_class"]
assert b["predictions"]["sample_ids"] == t["predictions"]["sample_ids"]
merged = [0 if l == pos else 1 for l in t["predictions"]["labels"]]
assert b["predictions"]["labels"] == merged, (b["predictions"]["labels"], merged)
assert 0 in merged and 1 in merged, "the held-out fold should hold both groups"
assert len(set(t["predictions"]["labels"])) == 3, "the ternary fold should hold three classes"
flat = b["predictions"]["probs"]  # N x 2, row-major
assert len(flat) == 2 * len(merged)
p = flat[0::2]
pred = [0 if flat[2 * i] >= flat[2 * i + 1] else 1 for i in range(len(merged))]
y = merged
n = len(y)
close = lambda a, e: abs(a - e) < 1e-9
assert close(b["accuracy"], sum(a == e for a, e in zip(pred, y)) / n), b["accuracy"]
pos_rows = [i for i in range(n) if y[i] == 0]
neg_rows = [i for i in range(n) if y[i] == 1]
assert close(b["sensitivity"], sum(pred[i] == 0 for i in pos_rows) / len(pos_rows))
assert close(b["specificity"], sum(pred[i] == 1 for i in neg_rows) / len(neg_rows))
pairs = [(1.0 if p[i] > p[j] else 0.5 if p[i] == p[j] else 0.0) for i in pos_rows for j in neg_rows]
assert close(b["auc"], sum(pairs) / len(pairs)), (b["auc"], pairs)
for k in ("accuracy", "sensitivity", "specificity", "auc"):
    assert close(again[k], b[k]), k
PY
echo "ok: the binary task merges the labels of the same samples, and its metrics follow from its predictions"
