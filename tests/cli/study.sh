#!/bin/sh
# `cmt study` end to end on tiny phantoms (2 folds, one backbone, binary and ternary, CMT-CNN,
# CE-only and contrastive-only): interrupted by Ctrl-C it exits 3, and the same command resumes the
# stopped fold and finishes the grid; run again it trains nothing and writes the same report. The
# report's tables, parsed back, hold the mean and standard deviation of the folds' eval.json, and
# its marks follow the paired t-test.
# The cells train with the paper's policy unless told otherwise, CE-only with lambda 0. A bad
# study file is refused before any work.
# Usage: study.sh CMT DATASET WORKDIR
set -eu
cmt=$1; data=$2; dir=$3
. "$(dirname "$0")/tiny_run_args.sh"
rm -rf "$dir"; mkdir -p "$dir"
out=$dir/study
cat > "$dir/study.json" <<JSON
{"datasets": {"ct": "$data"}, "backbones": ["resnet50"], "tasks": ["binary", "ternary"],
 "ablations": ["contrastive_only"], "out": "$out",
 "run": {"width": 0.125, "depth": 0.34, "latent_dim": 8, "batch_size": 2, "device": "cpu", "progress": false}}
JSON
# A bad study file: exit 2, naming the file and the key.
printf '{"datasets": {"ct": "%s"}, "backbone": ["resnet50"]}' "$data" > "$dir/typo.json"
status=0
"$cmt" study --config "$dir/typo.json" > "$dir/typo.log" 2>&1 || status=$?
[ "$status" -eq 2 ] && grep -q "typo.json: unknown key 'backbone'" "$dir/typo.log" || fail "a mistyped key: exit $status" "$dir/typo.log"
printf '{"datasets": {"ct": "%s"}, "run": {"lambda": -1}}' "$data" > "$dir/bad.json"
status=0
"$cmt" study --config "$dir/bad.json" > "$dir/bad.log" 2>&1 || status=$?
[ "$status" -eq 2 ] && grep -q "bad.json.*'lambda' must be >= 0" "$dir/bad.log" || fail "a bad run key: exit $status" "$dir/bad.log"
printf '{"datasets": {"ct": "%s"}, "folds": "2"}' "$data" > "$dir/type.json"
status=0
"$cmt" study --config "$dir/type.json" > "$dir/type.log" 2>&1 || status=$?
[ "$status" -eq 2 ] && grep -q "type.json: 'folds' has the wrong type" "$dir/type.log" || fail "a wrong type: exit $status" "$dir/type.log"

epochs=12  # one step per epoch on the tiny dataset
"$cmt" study --config "$dir/study.json" --set epochs=$epochs > "$dir/first.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
first=$out/ct/binary/resnet50/cmt-cnn
wait_for_steps "$first/fold0/steps.csv" 3 "$dir/first.log"
kill -INT "$pid"
status=0
wait "$pid" || status=$?
[ "$status" -eq 3 ] || fail "Ctrl-C: exit $status, expected 3" "$dir/first.log"
grep -q "run the same command again" "$dir/first.log" || fail "no word on how to continue" "$dir/first.log"
[ ! -f "$out/report.md" ] || fail "a report after an interrupted study"

"$cmt" study --config "$dir/study.json" --set epochs=$epochs > "$dir/second.log" 2>&1 || fail "the second cmt study" "$dir/second.log"
grep -q "fold 1/2 .*(resumed from last.h5)" "$dir/second.log" || fail "the stopped fold was not resumed" "$dir/second.log"
[ -f "$out/report.md" ] && [ -f "$out/study.json" ] && [ -f "$out/roc-ct-binary-resnet50.svg" ] || fail "report files missing" "$dir/second.log"
grep -q '"augment": "paper"' "$first/cv-config.json" || fail "the study does not default to the paper policy"
grep -q '"lambda": 0\(\.0\)\{0,1\},' "$out/ct/binary/resnet50/ce-only/cv-config.json" || fail "CE-only does not train with lambda 0"
grep -q '"task": "binary"' "$first/cv-config.json" || fail "the binary cell does not train the binary task"
[ "$(grep -c '<polyline' "$out/roc-ct-binary-resnet50.svg")" -eq 3 ] || fail "the ROC plot should hold one curve per method"

cp "$out/report.md" "$dir/report-before.md"
"$cmt" study --config "$dir/study.json" --set epochs=$epochs > "$dir/third.log" 2>&1 || fail "the third cmt study" "$dir/third.log"
[ "$(grep -c "finished earlier" "$dir/third.log")" -eq 12 ] || fail "a finished fold was trained again" "$dir/third.log"
cmp -s "$out/report.md" "$dir/report-before.md" || fail "the report of a finished study changed"

python3 - "$out" <<'PY' || fail "the report's tables do not match eval.json"
import json, re, statistics, sys
out = sys.argv[1]
text = open(out + "/report.md", encoding="utf-8").read()
def table(title):
    body = text.split("## " + title, 1)[1].split("\n## ", 1)[0]
    rows = [l for l in body.splitlines() if l.startswith("|")]
    head = [c.strip() for c in rows[0].strip("|").split("|")]
    return [dict(zip(head, [c.strip() for c in r.strip("|").split("|")])) for r in rows[2:]]
def folds(folder):
    return [json.load(open(f"{folder}/fold{k}/eval.json")) for k in (0, 1)]
columns = {"Binary accuracy": ("binary", "accuracy"), "Binary sensitivity": ("binary", "sensitivity"),
           "Binary specificity": ("binary", "specificity"), "Binary AUC": ("binary", "auc"),
           "Ternary accuracy": ("ternary", "accuracy")}
checked = 0
for title, method in (("Table 1: CMT-CNN on CT", "cmt-cnn"), ("Table 3:", "ce-only"), ("Table 4:", "contrastive-only")):
    rows = table(title)
    assert len(rows) == 1 and rows[0].get("Backbone") == "resnet50", rows
    for col, (task, key) in columns.items():
        m = re.fullmatch(r"(-?[\d.]+) ± ([\d.]+)( [+*↓†‡]+)?", rows[0][col])
        assert m, (title, col, rows[0][col])
        values = [100 * e[key] for e in folds(f"{out}/ct/{task}/resnet50/{method}")]
        assert abs(float(m.group(1)) - statistics.mean(values)) <= 0.0051, (title, col, m.group(1), values)
        assert abs(float(m.group(2)) - statistics.stdev(values)) <= 0.0051, (title, col, m.group(2), values)
        checked += 1
binary = folds(f"{out}/ct/binary/resnet50/cmt-cnn")
assert all(e["class_names"][1] == "other" for e in binary), binary[0]["class_names"]
assert checked == 15
PY
# The marks: CE-only's binary accuracy made lower than CMT-CNN's by nearly the same amount in both
# folds (significant), its sensitivity lower by very different amounts (not significant); the
# report, written again from the folds' eval.json, must mark exactly the significant cells
# (two-sided paired t-test; with df = 1, p = 1 - 2 atan(|t|) / pi).
python3 - "$out" <<'PY' || fail "could not edit the folds' eval.json"
import json, sys
out = sys.argv[1]
for k, (acc, sens) in enumerate(((0.30, 0.05), (0.31, 0.40))):
    cmt = json.load(open(f"{out}/ct/binary/resnet50/cmt-cnn/fold{k}/eval.json"))
    path = f"{out}/ct/binary/resnet50/ce-only/fold{k}/eval.json"
    ce = json.load(open(path))
    ce["accuracy"] = cmt["accuracy"] - acc
    ce["sensitivity"] = cmt["sensitivity"] - sens
    json.dump(ce, open(path, "w"))
PY
"$cmt" study --config "$dir/study.json" --set epochs=$epochs > "$dir/marks.log" 2>&1 || fail "cmt study after the edit" "$dir/marks.log"
python3 - "$out" <<'PY' || fail "the report's marks do not follow the paired t-test" "$out/report.md"
import json, math, statistics, sys
out = sys.argv[1]
text = open(out + "/report.md", encoding="utf-8").read()
body = text.split("## Table 3:", 1)[1].split("\n## ", 1)[0]
rows = [l for l in body.splitlines() if l.startswith("|")]
head = [c.strip() for c in rows[0].strip("|").split("|")]
row = dict(zip(head, [c.strip() for c in rows[2].strip("|").split("|")]))
def values(task, method, key):
    return [json.load(open(f"{out}/ct/{task}/resnet50/{method}/fold{k}/eval.json"))[key] for k in (0, 1)]
columns = {"Binary accuracy": ("binary", "accuracy"), "Binary sensitivity": ("binary", "sensitivity"),
           "Binary specificity": ("binary", "specificity"), "Binary AUC": ("binary", "auc"),
           "Ternary accuracy": ("ternary", "accuracy")}
marked = []
for col, (task, key) in columns.items():
    d = [a - b for a, b in zip(values(task, "ce-only", key), values(task, "cmt-cnn", key))]
    sd = statistics.stdev(d)
    mean = statistics.mean(d)
    if sd == 0:
        below = mean < 0
    else:
        t = mean / (sd / math.sqrt(2))
        below = t < 0 and 1 - 2 * math.atan(abs(t)) / math.pi < 0.05
    assert row[col].endswith("↓") == below, (col, row[col], d)
    if below:
        marked.append(col)
assert "Binary accuracy" in marked and "Binary sensitivity" not in marked, marked
PY
echo "ok: cmt study resumes after Ctrl-C, skips finished folds, and its tables are the folds' eval.json"
