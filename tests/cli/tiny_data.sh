# Sourced by the CLI scripts that train tiny models: `fail`, a scratch folder, and a tiny X-ray
# dataset of phantoms. Expects $cmt and $dir.
fail() { echo "FAIL: $1"; exit 1; }
rm -rf "$dir"; mkdir -p "$dir"
# The flags of a tiny model that trains in a second on the CPU.
tiny_model="--backbone vgg19_bn --width 0.125 --depth 0.5 --latent-dim 16 --no-progress --device cpu"
# tiny_xray_dataset NAME COUNT SEED [SIZE]: NAME.h5 (SIZE, 32 by default; 2 folds, split with SEED)
# from COUNT phantom patients, their PNG files and manifest under raw-NAME/xray/png.
tiny_xray_dataset() {
  "$cmt" synth --out "$dir/raw-$1" --modality xray --format png --count "$2" --seed "$3" --size xray=32 >/dev/null
  "$cmt" prepare --input "$dir/raw-$1/xray/png" --out "$dir/$1.h5" --modality xray --size "${4:-32}" --folds 2 --seed "$3" >/dev/null
}
