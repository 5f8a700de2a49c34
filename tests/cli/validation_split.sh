#!/bin/sh
# val_fraction: a validation part of the training folds is scored every epoch, best.h5 is chosen on
# it, the held-out fold is evaluated once with that checkpoint, and `cmt ablate lambda` picks lambda
# on validation accuracy; the default policy refuses non-square images.
# Usage: validation_split.sh CMT WORKDIR
set -eu
cmt=$1; dir=$2
. "$(dirname "$0")/tiny_data.sh"
tiny_xray_dataset x 24 5
common="--dataset $dir/x.h5 --fold 1 $tiny_model --batch-size 3 --augment flip"
"$cmt" train $common --epochs 3 --val-fraction 0.25 --out "$dir/run" > "$dir/run.log" 2>&1 || { cat "$dir/run.log"; fail "train"; }
grep -q "9 training / 3 validation / 12 held-out samples" "$dir/run.log" || { cat "$dir/run.log"; fail "split sizes"; }
[ "$(grep -c 'val acc' "$dir/run.log")" -eq 3 ] || { cat "$dir/run.log"; fail "no validation accuracy every epoch"; }
python3 - "$dir/run" <<'PY' || fail "run files"
import json, sys
run = sys.argv[1]
epochs = [json.loads(l) for l in open(run + "/metrics.jsonl")]
val = [e["validation"]["accuracy"] for e in epochs]
assert len(val) == 3, val
ev = json.load(open(run + "/eval.json"))
assert ev["checkpoint"] == "best (validation accuracy)", ev["checkpoint"]
best = max(range(3), key=lambda i: (val[i], -i))  # the first epoch of the highest accuracy
assert ev["validation"]["epoch"] == best + 1 and ev["validation"]["accuracy"] == val[best], (ev["validation"], val)
assert ev["validation"]["samples"] == 3
PY
# A resumed run keeps best.h5 at the best epoch so far: a resumed epoch replaces it only if better.
"$cmt" train --resume "$dir/run/last.h5" $common --epochs 6 --val-fraction 0.25 --out "$dir/run" > "$dir/resume.log" 2>&1 ||
  { cat "$dir/resume.log"; fail "resume"; }
best_epoch=$(h5dump -a /epoch "$dir/run/best.h5" | sed -n 's/^ *(0): //p')
python3 - "$dir/run" "$best_epoch" <<'PY' || fail "best.h5 after a resume is not the first epoch of the best validation accuracy"
import json, sys
run, saved = sys.argv[1], int(sys.argv[2])
val = [json.loads(l)["validation"]["accuracy"] for l in open(run + "/metrics.jsonl")]
assert len(val) == 6, val
best = max(range(6), key=lambda i: (val[i], -i)) + 1
assert saved == best, (saved, best, val)
ev = json.load(open(run + "/eval.json"))
assert ev["validation"]["epoch"] == best, (ev["validation"], val)
PY
# The held-out predictions are those of best.h5.
cp "$dir/run/eval.json" "$dir/train-eval.json"
"$cmt" eval --run "$dir/run" --checkpoint best > "$dir/eval.log" 2>&1 || { cat "$dir/eval.log"; fail "eval best"; }
python3 - "$dir/train-eval.json" "$dir/run/eval.json" <<'PY' || fail "held-out predictions are not best.h5's"
import json, sys
a, b = (json.load(open(f))["predictions"] for f in sys.argv[1:])
assert a["sample_ids"] == b["sample_ids"] and max(abs(x - y) for x, y in zip(a["probs"], b["probs"])) < 1e-6
PY
# Without a validation part the final model is evaluated, as before.
"$cmt" train $common --steps 2 --out "$dir/plain" > "$dir/plain.log" 2>&1 || { cat "$dir/plain.log"; fail "train without validation"; }
grep -q '"checkpoint": "final"' "$dir/plain/eval.json" || fail "plain run: not the final model"
# lambda chosen on validation accuracy.
"$cmt" ablate lambda $common --steps 2 --lambdas 0,0.5 --out "$dir/ablate" > "$dir/ablate.log" 2>&1 || { cat "$dir/ablate.log"; fail "ablate"; }
grep -q "chosen on validation: lambda = " "$dir/ablate.log" || { cat "$dir/ablate.log"; fail "no lambda chosen"; }
python3 - "$dir/ablate/lambda.json" <<'PY' || fail "lambda.json"
import json, sys
j = json.load(open(sys.argv[1]))
i = max(range(len(j["lambda"])), key=lambda k: (j["val_accuracy"][k], -k))
assert j["chosen_lambda"] == j["lambda"][i] and j["chosen_test_accuracy"] == j["accuracy"][i] and j["val_fraction"] == 0.2, j
PY
# The default policy rotates, which needs square images: a clear error before training otherwise.
tiny_xray_dataset wide 12 5 24x32
if "$cmt" train --dataset "$dir/wide.h5" $tiny_model --steps 1 --batch-size 2 --out "$dir/wide" > "$dir/wide.log" 2>&1; then
  fail "non-square images trained with rotation"
fi
grep -q "needs square images, but .*wide.h5 holds 24x32 images" "$dir/wide.log" || { cat "$dir/wide.log"; fail "unclear rotation error"; }
echo "ok: validation scored per epoch, best.h5 and lambda chosen on it"
