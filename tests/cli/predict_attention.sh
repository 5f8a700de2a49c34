#!/bin/sh
# `cmt predict --attention-out`: one-step runs with the attention decoder (--attention-head) on the
# predict fixture's CT and X-ray phantoms; the map files of each study: for X-ray one PNG, for CT the
# three central slices, and the map as a .npy of the model's input size with values in (0, 1), listed
# in the JSON. A run without the decoder refuses the flag (exit 2); the run's config records the key.
# Usage: predict_attention.sh CMT PREDICT_WORK DIR   (PREDICT_WORK: tests/cli/predict_runs.cmake)
set -eu
cmt=$1; work=$2; dir=$3
data=unused
. "$(dirname "$0")/tiny_run_args.sh"
rm -rf "$dir"; mkdir -p "$dir"
for m in ct xray; do
  "$cmt" train --dataset "$work/$m.h5" --backbone resnet50 --width 0.125 --depth 0.34 --latent-dim 8 --batch-size 2 \
    --steps 1 --epochs 1 --device cpu --no-progress --attention-head --out "$dir/$m-run" > "$dir/$m-train.log" 2>&1 \
    || fail "$m run with --attention-head" "$dir/$m-train.log"
  grep -q "attention head" "$dir/$m-train.log" || fail "the $m model does not say it has the attention head" "$dir/$m-train.log"
done
ct_study=$(find "$work/raw/ct/dicom" -mindepth 2 -maxdepth 2 -type d | sort | head -n 1)
xray_image=$(find "$work/raw/xray/png" -name '*.png' | sort | head -n 1)
"$cmt" predict --device cpu --json --run "$dir/ct-run" --attention-out "$dir/maps" "$ct_study" > "$dir/ct.json" 2> "$dir/ct.err" \
  || fail "predict --attention-out on CT" "$dir/ct.err"
"$cmt" predict --device cpu --json --run "$dir/xray-run" --attention-out "$dir/maps" "$xray_image" > "$dir/xray.json" 2> "$dir/xray.err" \
  || fail "predict --attention-out on X-ray" "$dir/xray.err"
/usr/bin/python3 - "$dir" <<'PY' || fail "attention map files"
import json, os, struct, sys
import numpy as np
d = sys.argv[1]
for m, pngs, size in (("ct", ["attention_axial", "attention_coronal", "attention_sagittal"], (8, 8, 8)),
                      ("xray", ["attention"], (1, 16, 16))):
    out = json.load(open(f"{d}/{m}.json"))
    assert len(out) == 1 and "error" not in out[0], out
    files = out[0]["attention"]
    assert sorted(os.path.basename(f).split(".")[-2] for f in files if f.endswith(".png")) == sorted(pngs), files
    npy = [f for f in files if f.endswith(".npy")]
    assert len(npy) == 1, files
    a = np.load(npy[0])
    assert a.dtype == np.float32 and a.shape == size, (a.dtype, a.shape)
    assert (a > 0).all() and (a < 1).all() and a.max() > a.min(), (a.min(), a.max())
    for f in files:
        if f.endswith(".png"):
            with open(f, "rb") as fh:
                head = fh.read(24)
            assert head[:8] == b"\x89PNG\r\n\x1a\n", f
            w, h = struct.unpack(">II", head[16:24])
            assert w == size[2] and h in (size[1], size[0]), (f, w, h)
    assert json.load(open(f"{d}/{m}-run/config.json"))["attention_head"] is True
print("attention files ok")
PY
# A run trained without the decoder: a bad command line, exit 2, saying why.
plain="$work/xray-run"
set +e
"$cmt" predict --device cpu --run "$plain" --attention-out "$dir/none" "$xray_image" > /dev/null 2> "$dir/plain.err"
rc=$?
set -e
[ $rc -eq 2 ] || fail "predict --attention-out on a run without the decoder: exit $rc, want 2" "$dir/plain.err"
grep -q "without attention_head" "$dir/plain.err" || fail "the refusal does not say why" "$dir/plain.err"
[ ! -e "$dir/none" ] || fail "the refused command still made its output folder"
echo "predict_attention ok"
