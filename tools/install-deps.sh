#!/bin/sh
# Installs cmt's build dependencies from Debian packages (and, with --test, the test oracles).
# --list prints the packages, one a line, and installs nothing (tests/deps/check_deps.py reads it).
# The CUDA 13 toolkit with cuDNN 9 and NCCL is expected from NVIDIA's repository or the machine
# image (nvcc on PATH); without it, configure with -DCMT_WITH_CUDA=OFF.
set -eu
test=0
list=0
for a in "$@"; do
  case "$a" in
    --test) test=1 ;;
    --list) list=1 ;;
    *) echo "usage: tools/install-deps.sh [--test] [--list]" >&2; exit 2 ;;
  esac
done
packages="cmake ninja-build g++ pkg-config libopenblas-dev libdnnl-dev libhdf5-dev hdf5-tools libdcmtk-dev libnifti2-dev \
libpng-dev libjpeg-dev libopenmpi-dev openmpi-bin libfmt-dev nlohmann-json3-dev libcli11-dev libboost-context-dev"
if [ "$test" = 1 ]; then
  packages="$packages doctest-dev python3 python3-torch python3-torchvision python3-numpy python3-h5py python3-pydicom python3-nibabel python3-scipy git \
dicom3tools clang libclang-rt-14-dev libomp-dev"  # git: docs.wording lists the tracked files; dicom3tools: dciodvfy checks what `cmt synth` writes;
  # clang, its sanitizer and libFuzzer runtimes and its OpenMP: the sanitizer and fuzz build (tools/build-sanitize.sh)
else
  packages="$packages doctest-dev"
fi
if [ "$list" = 1 ]; then
  printf '%s\n' $packages
  exit 0
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
fi
