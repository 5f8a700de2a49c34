#!/bin/sh
# Fixture of the run-folder, resume, dry-run and Slurm tests: a tiny CT dataset (6 phantoms, 8^3, 2
# folds) in WORKDIR/ct.h5. Usage: tiny_dataset.sh CMT WORKDIR
set -eu
cmt=$1; dir=$2
rm -rf "$dir"; mkdir -p "$dir"
"$cmt" synth --out "$dir/raw" --modality ct --format dicom --count 6 --seed 5 --size ct=8 >/dev/null
"$cmt" prepare --input "$dir/raw/ct/dicom" --out "$dir/ct.h5" --modality ct --size 8 --folds 2 >/dev/null
echo "ok: $dir/ct.h5"
