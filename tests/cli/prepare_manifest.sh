#!/bin/sh
# Manifests: columns found by name in any order (or named by --path-col/--label-col/--patient-col/--mask-col),
# rows with an empty label or a path listed again set aside and named, and a loud warning when there
# is no patient column. Usage: prepare_manifest.sh CMT WORKDIR
set -eu
cmt=$1; dir=$2
rm -rf "$dir"; mkdir -p "$dir"
fail() { echo "FAIL: $*"; exit 1; }
"$cmt" synth --out "$dir/raw" --modality xray --format png --count 6 --seed 4 --size xray=16 >/dev/null
src="$dir/raw/xray/png"
info() { "$cmt" dataset info "$1"; }

# Columns reordered, with an extra one and a quoted cell: the same dataset as synth's own manifest.
awk -F, 'NR == 1 { print "label,note,patient_id,path,mask"; next } { printf "%s,\"a, b\",%s,%s,%s\n", $2, $3, $1, $4 }' \
  "$src/manifest.csv" > "$src/reordered.csv"
"$cmt" prepare --input "$src/manifest.csv" --out "$dir/a.h5" --size 16 --folds 2 >/dev/null
"$cmt" prepare --input "$src/reordered.csv" --out "$dir/b.h5" --size 16 --folds 2 > "$dir/b.log" 2>&1 || { cat "$dir/b.log"; fail "reordered columns"; }
[ "$(info "$dir/a.h5" | tail -n +2)" = "$(info "$dir/b.h5" | tail -n +2)" ] || fail "reordered manifest gives another dataset"
if grep -q WARNING "$dir/b.log"; then cat "$dir/b.log"; fail "warned although patient IDs are given"; fi

# Other column names (the masks' too), given by flag.
awk -F, 'NR == 1 { print "finding,image_file,subject_code,lesion"; next } { print $2 "," $1 "," $3 "," $4 }' "$src/manifest.csv" > "$src/named.csv"
if "$cmt" prepare --input "$src/named.csv" --out "$dir/c.h5" > "$dir/c.log" 2>&1; then fail "a manifest without a path column was accepted"; fi
grep -q "no path column.*the header has: finding,image_file,subject_code,lesion.*--path-col" "$dir/c.log" || { cat "$dir/c.log"; fail "the missing column is not explained"; }
"$cmt" prepare --input "$src/named.csv" --out "$dir/c.h5" --size 16 --folds 2 --path-col image_file --label-col finding \
  --patient-col subject_code --mask-col lesion >/dev/null
[ "$(info "$dir/a.h5" | tail -n +2)" = "$(info "$dir/c.h5" | tail -n +2)" ] || fail "--path-col/--label-col/--patient-col/--mask-col give another dataset"

# An empty label and a duplicate row are set aside and named; no class "" appears.
{ cat "$src/manifest.csv"; echo "normal/P0000.png,pneumonia,P0000"; echo "covid19/P0001.png,,P0001"; } > "$src/dirty.csv"
"$cmt" prepare --input "$src/dirty.csv" --out "$dir/d.h5" --size 16 --folds 2 > "$dir/d.log" 2>&1 || { cat "$dir/d.log"; fail "dirty manifest"; }
grep -q "dirty.csv:8: normal/P0000.png: listed again (first on line 2, there as 'normal', here as 'pneumonia')" "$dir/d.log" ||
  { cat "$dir/d.log"; fail "the duplicate is not flagged"; }
grep -q "dirty.csv:9: covid19/P0001.png: empty label" "$dir/d.log" || { cat "$dir/d.log"; fail "the empty label is not named"; }
grep -q "3 classes (normal, covid19, pneumonia)" "$dir/d.log" || { cat "$dir/d.log"; fail "an empty class appeared"; }
[ "$(info "$dir/d.h5" | sed -n 's/^  samples *//p')" = 6 ] || fail "the duplicate or the empty label became a sample"
if "$cmt" prepare --input "$src/dirty.csv" --out "$dir/e.h5" --strict >/dev/null 2>&1; then fail "--strict accepted a dirty manifest"; fi

# No patient column: read, with a loud warning about leakage across folds.
cut -d, -f1,2 "$src/manifest.csv" > "$src/nopatient.csv"
"$cmt" prepare --input "$src/nopatient.csv" --out "$dir/f.h5" --size 16 --folds 2 > "$dir/f.log" 2>&1 || { cat "$dir/f.log"; fail "no patient column"; }
grep -q "WARNING: .*nopatient.csv has no patient column.*every image counts as its own patient" "$dir/f.log" ||
  { cat "$dir/f.log"; fail "no warning without patient IDs"; }
echo "ok: columns by name or flag, empty labels and duplicates set aside, missing patient IDs warned about"
