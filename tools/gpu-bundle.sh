#!/bin/bash
# Builds the GPU test and bench binaries here (sm_90) and packs them, with the non-CUDA shared
# libraries they need, into gpu-bundle.tar.xz (git-ignored) for tests/gpu/run.sh on a GPU machine:
#   tools/gpu-bundle.sh, copy gpu-bundle.tar.xz to the GPU machine, there: tests/gpu/run.sh gpu-bundle.tar.xz
#   (docs/gpu.md)
# CUDA libraries (cuBLAS, cuDNN, NCCL) are not packed: the GPU machine's PyTorch provides them.
set -eu
cd "$(dirname "$0")/.."
tools/build.sh -DCMT_CUDA_ARCHITECTURES=90 >/dev/null
rm -rf gpu-bundle && mkdir -p gpu-bundle/bin gpu-bundle/lib
cp build/bin/cmt build/bin/cmt_tests build/bin/cmt_cuda_tests build/bin/cmt_op_tests build/bin/cmt_op_runner gpu-bundle/bin/
cp build/bin/cmt_bench_* gpu-bundle/bin/
skip='^(libc|libm|libdl|libpthread|librt|ld-linux.*|libcuda|libcudart|libcublas|libcublasLt|libcudnn.*|libnccl)\.so'
for f in gpu-bundle/bin/*; do
  ldd "$f" | awk '/=> \// {print $3}'
done | sort -u | while read -r lib; do
  base=$(basename "$lib")
  echo "$base" | grep -Eq "$skip" || cp -L "$lib" gpu-bundle/lib/
done
tar -cJf gpu-bundle.tar.xz gpu-bundle
du -sh gpu-bundle gpu-bundle.tar.xz
