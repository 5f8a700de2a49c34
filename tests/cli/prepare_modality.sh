#!/bin/sh
# `cmt prepare` without --modality infers it from the files: radiographs (PNG or DICOM DX) become an
# X-ray set, CT series a CT set; a manifest mixing both is refused, --modality overrides, and more
# folds than patients in a class are refused. Also what synth and dataset info report per modality. Usage: prepare_modality.sh CMT WORKDIR
set -eu
cmt=$1; dir=$2
rm -rf "$dir"; mkdir -p "$dir"
fail() { echo "FAIL: $*"; exit 1; }
"$cmt" synth --out "$dir/raw" --modality both --format both --count 6 --seed 3 --size ct=8,xray=16 >/dev/null
# synth reports the sizes of what it wrote: no CT size for an X-ray-only set.
"$cmt" synth --out "$dir/xonly" --modality xray --format png --count 3 --seed 3 --size ct=8,xray=16 > "$dir/xonly.log"
grep -q "X-ray 16x16" "$dir/xonly.log" || { cat "$dir/xonly.log"; fail "synth --modality xray does not report the X-ray size"; }
if grep -q "CT " "$dir/xonly.log"; then cat "$dir/xonly.log"; fail "synth --modality xray reports a CT size"; fi
shape_of() { "$cmt" dataset info "$1" | sed -n 's/^  sample shape \([0-9x]*\).*/\1/p'; }
modality_of() { "$cmt" dataset info "$1" | sed -n 's/^  modality *//p'; }

for src in xray/png xray/dicom; do
  "$cmt" prepare --input "$dir/raw/$src" --out "$dir/x.h5" --size 16 --folds 2 > "$dir/x.log" || { cat "$dir/x.log"; fail "prepare $src"; }
  [ "$(modality_of "$dir/x.h5")" = xray ] || fail "$src: radiographs became $(modality_of "$dir/x.h5")"
  [ "$(shape_of "$dir/x.h5")" = 1x16x16 ] || fail "$src: sample shape $(shape_of "$dir/x.h5"), want 1x16x16"
  grep -q "modality xray (inferred" "$dir/x.log" || { cat "$dir/x.log"; fail "$src: the inferred modality is not reported"; }
  if "$cmt" dataset info "$dir/x.h5" | grep -q "HU window"; then fail "$src: dataset info shows an HU window for X-ray"; fi
done
for src in ct/dicom ct/png; do
  "$cmt" prepare --input "$dir/raw/$src" --out "$dir/c.h5" --size 8 --folds 2 >/dev/null
  [ "$(modality_of "$dir/c.h5")" = ct ] || fail "$src: CT became $(modality_of "$dir/c.h5")"
  [ "$(shape_of "$dir/c.h5")" = 8x8x8 ] || fail "$src: sample shape $(shape_of "$dir/c.h5")"
done
"$cmt" dataset info "$dir/c.h5" | grep -q "HU window" || fail "dataset info shows no HU window for CT"

# --modality overrides the inference.
"$cmt" prepare --input "$dir/raw/xray/png" --out "$dir/forced.h5" --modality ct --size 8 --folds 2 >/dev/null
[ "$(modality_of "$dir/forced.h5")" = ct ] || fail "--modality ct was not obeyed"

# Radiographs and a CT series in one manifest: refused, naming an example of each; no file written.
mkdir -p "$dir/mix"
printf 'path,label,patient_id\n%s,normal,A\n%s,covid19,B\n%s,normal,C\n' ../raw/xray/png/normal/P0000.png \
  ../raw/xray/png/covid19/P0001.png ../raw/ct/dicom/normal/P0003 > "$dir/mix/m.csv"
if "$cmt" prepare --input "$dir/mix/m.csv" --out "$dir/mix.h5" > "$dir/mix.log" 2>&1; then cat "$dir/mix.log"; fail "a mixture was accepted"; fi
grep -q "mix modalities: 2 look like X-ray.*P0000.png.*1 like CT.*P0003" "$dir/mix.log" || { cat "$dir/mix.log"; fail "the refusal does not name both kinds"; }
[ ! -e "$dir/mix.h5" ] || fail "a refused mixture left $dir/mix.h5"

# 2 patients per class: 3 folds are refused, and nothing is written.
if "$cmt" prepare --input "$dir/raw/ct/dicom" --out "$dir/f.h5" --folds 3 > "$dir/f.log" 2>&1; then fail "--folds 3 with 2 patients per class was accepted"; fi
grep -q "class '.*' has only 2 patient(s)" "$dir/f.log" || { cat "$dir/f.log"; fail "the fold refusal does not say why"; }
[ -z "$(ls "$dir" | grep '^f\.h5')" ] || fail "a refused prepare left a file"
echo "ok: modality inferred (X-ray PNG/DICOM, CT DICOM/PNG), override, mixture and excess folds refused"
