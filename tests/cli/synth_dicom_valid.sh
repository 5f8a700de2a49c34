#!/bin/sh
# Every DICOM object `cmt synth` writes (CT slices and DX radiographs, every class) is a valid IOD:
# dicom3tools' dciodvfy reports no error for it (warnings are allowed and printed).
# Usage: synth_dicom_valid.sh CMT WORKDIR
set -eu
cmt=$1; dir=$2
rm -rf "$dir"; mkdir -p "$dir"
"$cmt" synth --out "$dir/raw" --modality both --format dicom --count 3 --size ct=8,xray=16 >/dev/null
checked_ct=0; checked_dx=0; failed=0
for f in $(find "$dir/raw" -name '*.dcm' | sort); do
  report=$(dciodvfy "$f" 2>&1 || true)
  case "$report" in
    *CTImage*) checked_ct=$((checked_ct + 1)) ;;
    *DXImageForPresentation*) checked_dx=$((checked_dx + 1)) ;;
    *) echo "FAIL: $f: dciodvfy did not recognise a CT or DX image:"; echo "$report"; failed=1 ;;
  esac
  if printf '%s\n' "$report" | grep -q '^Error'; then
    echo "FAIL: $f:"; printf '%s\n' "$report" | grep '^Error'; failed=1
  fi
done
echo "dciodvfy: $checked_ct CT slices, $checked_dx DX images checked"
[ "$checked_ct" -eq 24 ] && [ "$checked_dx" -eq 3 ] || { echo "FAIL: expected 24 CT slices and 3 DX images"; failed=1; }
exit $failed
