#!/bin/sh
# Lesion masks on the command line: synth's manifests carry them into the dataset and `dataset info`
# reports them; a mask of another size, a non-binary one and a missing one set their rows aside,
# named; rows without a mask are samples without one; datasets of format version 1 (no masks) still
# load; explain-score refuses what is not a maps file. Usage: lesion_masks.sh CMT WORKDIR
set -eu
cmt=$1; dir=$2
corpus=$(cd "$(dirname "$0")/../fuzz/corpus/fuzz_dataset" && pwd)
rm -rf "$dir"; mkdir -p "$dir"
fail() { echo "FAIL: $*"; exit 1; }
"$cmt" synth --out "$dir/raw" --modality xray --format png --count 6 --seed 5 --size xray=16 >/dev/null
"$cmt" synth --out "$dir/big" --modality xray --format png --count 1 --seed 5 --size xray=24 >/dev/null
src="$dir/raw/xray/png"

"$cmt" prepare --input "$src" --out "$dir/m.h5" --size 16 --folds 2 > "$dir/m.log" 2>&1 || { cat "$dir/m.log"; fail "prepare with masks"; }
grep -q "6 samples of 1x16x16, 2 folds, 6 with a lesion mask" "$dir/m.log" || { cat "$dir/m.log"; fail "masks not reported"; }
"$cmt" dataset info "$dir/m.h5" > "$dir/m.info"
grep -q "lesion masks 6 of 6 samples, 4 with a lesion" "$dir/m.info" || { cat "$dir/m.info"; fail "dataset info: masks"; }
grep -q "normal  *2 masks, 0 with a lesion" "$dir/m.info" || { cat "$dir/m.info"; fail "dataset info: masks per class"; }
grep -q "covid19  *2 masks, 2 with a lesion" "$dir/m.info" || { cat "$dir/m.info"; fail "dataset info: masks per class"; }

# Rows with an empty mask cell are samples without a mask.
awk -F, 'NR == 1 || NR % 2 == 0 { print; next } { print $1 "," $2 "," $3 "," }' "$src/manifest.csv" > "$src/half.csv"
"$cmt" prepare --input "$src/half.csv" --out "$dir/half.h5" --size 16 --folds 2 >/dev/null
"$cmt" dataset info "$dir/half.h5" | grep -q "lesion masks 3 of 6 samples" || fail "rows without a mask"

# Bad masks: another size, not binary (the radiograph itself), missing.
{ head -1 "$src/manifest.csv"
  echo "normal/P0000.png,normal,P0000,../../../big/xray/masks/P0000.png"
  echo "covid19/P0001.png,covid19,P0001,covid19/P0001.png"
  echo "pneumonia/P0002.png,pneumonia,P0002,../masks/none.png"
  tail -n 3 "$src/manifest.csv"; } > "$src/bad.csv"
"$cmt" prepare --input "$src/bad.csv" --out "$dir/bad.h5" --size 16 --folds 1 > "$dir/bad.log" 2>&1 || { cat "$dir/bad.log"; fail "bad masks"; }
grep -q "skipped .*normal/P0000.png: mask .*big/xray/masks/P0000.png: size 1x24x24 (D, H, W) differs from the image's 1x16x16" "$dir/bad.log" ||
  { cat "$dir/bad.log"; fail "a mask of another size is not named"; }
grep -q "skipped .*covid19/P0001.png: mask .*covid19/P0001.png: not a binary mask" "$dir/bad.log" ||
  { cat "$dir/bad.log"; fail "a non-binary mask is not named"; }
grep -q "skipped .*pneumonia/P0002.png: its mask .*masks/none.png (.*bad.csv:4) is missing" "$dir/bad.log" ||
  { cat "$dir/bad.log"; fail "a missing mask is not named"; }
grep -q "3 samples written, 3 inputs skipped" "$dir/bad.log" || { cat "$dir/bad.log"; fail "the good rows were not prepared"; }
if "$cmt" prepare --input "$src/bad.csv" --out "$dir/strict.h5" --size 16 --folds 1 --strict >/dev/null 2>&1; then
  fail "--strict accepted bad masks"; fi
[ ! -e "$dir/strict.h5" ] || fail "--strict left a dataset"

# Datasets of format version 1 load, without masks.
for f in "$corpus/ct.h5" "$corpus/xray.h5"; do
  "$cmt" dataset info "$f" > "$dir/old.info" 2>&1 || { cat "$dir/old.info"; fail "$f does not load"; }
  grep -q "lesion masks none" "$dir/old.info" || { cat "$dir/old.info"; fail "$f: masks reported"; }
done

# explain-score: a file that is no maps file is named (exit 1); a negative tolerance is a usage error (exit 2).
set +e
"$cmt" explain-score --maps "$dir/m.h5" --dataset "$dir/m.h5" > "$dir/score.log" 2>&1; rc=$?
"$cmt" explain-score --maps "$dir/m.h5" --dataset "$dir/m.h5" --tolerance -1 > /dev/null 2>&1; rc2=$?
set -e
[ $rc = 1 ] && grep -q "m.h5: not an attention-map file" "$dir/score.log" || { cat "$dir/score.log"; fail "a dataset given as maps"; }
[ $rc2 = 2 ] || fail "--tolerance -1 exited $rc2, not 2"
echo "ok: masks carried and reported, bad masks named, version 1 datasets load"
