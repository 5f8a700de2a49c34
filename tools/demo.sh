#!/bin/sh
# The README's main command: install, build, then run the whole job on the built-in data:
# phantom CT and X-ray studies (DICOM and PNG) -> HDF5 datasets -> CMT-CNN trained on each
# modality (small 3D and 2D ResNet-50) -> held-out evaluation, plots, and predictions from DICOM.
# Under 10 minutes on a 2-core CPU; on a GPU well under a minute of training.
set -eu
cd "$(dirname "$0")/.."
tools/install-deps.sh
tools/build.sh -DCMT_ORACLE_TESTS=OFF >/dev/null  # the oracle tests need python3-torch: install-deps.sh --test
cmt=build/bin/cmt
out=${CMT_DEMO_OUT:-demo-run}
rm -rf "$out"
mkdir -p "$out"
$cmt info | sed -n '1,12p'

echo "== 1. phantoms: CT series (DICOM) and chest X-rays (PNG), three classes"
$cmt synth --out "$out/raw" --modality both --format both --count 300 --seed 7 --size ct=32,xray=64 --difficulty 0.2
echo "== 2. prepare: DICOM/PNG -> HDF5 with 5 patient-level stratified folds"
$cmt prepare --input "$out/raw/ct/dicom" --out "$out/ct.h5" --modality ct --size 32
$cmt prepare --input "$out/raw/xray/png" --out "$out/xray.h5" --modality xray --size 64
$cmt dataset info "$out/ct.h5"

# Small ResNet-50s (width 1/4, depth 1/3) so that a 2-core CPU trains them in minutes.
common="--backbone resnet50 --width 0.25 --depth 0.34 --latent-dim 128 --batch-size 16 --lr 1e-3 --lambda 0.25 --tau 0.1 --augment poisson+flip --seed 1 --fold 0 --no-progress"
echo "== 3. train CMT-CNN, 3D, on CT (fold 0 held out)"
$cmt train --dataset "$out/ct.h5" $common --epochs ${CMT_DEMO_CT_EPOCHS:-12} --out "$out/ct-resnet50"
echo "== 4. train CMT-CNN, 2D, on X-ray (fold 0 held out)"
$cmt train --dataset "$out/xray.h5" $common --epochs ${CMT_DEMO_XRAY_EPOCHS:-25} --out "$out/xray-resnet50"

echo "== 5. evaluation on the held-out fold"
for run in ct-resnet50 xray-resnet50; do
  echo "-- $run"
  $cmt eval --run "$out/$run"
done
echo "== 6. predict from raw DICOM (one CT series per class)"
for cls in covid19 pneumonia normal; do
  series=$(find "$out/raw/ct/dicom/$cls" -mindepth 1 -maxdepth 1 -type d | sort | head -1)
  $cmt predict --run "$out/ct-resnet50" "$series"
done
echo "results, ROC curves and confusion matrices: $out/*/eval.json, roc.svg, confusion.svg"
