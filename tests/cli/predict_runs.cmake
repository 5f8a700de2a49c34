# Fixture of the predict tests: tiny phantoms (CT 8^3 DICOM series, X-ray 16^2 PNG and DICOM) and
# one-step runs of a tiny ResNet on each, in ${WORK}: ct-run (3D CT) and xray-run (2D X-ray).
include(${CMAKE_CURRENT_LIST_DIR}/cmt_run.cmake)
file(REMOVE_RECURSE ${WORK})
cmt_run(0 synth --out ${WORK}/raw --modality both --format both --count 6 --seed 5 --size ct=8,xray=16)
cmt_run(0 prepare --input ${WORK}/raw/ct/dicom --out ${WORK}/ct.h5 --modality ct --size 8 --folds 2)
cmt_run(0 prepare --input ${WORK}/raw/xray/png --out ${WORK}/xray.h5 --modality xray --size 16 --folds 2)
foreach(m ct xray)
  cmt_run(0 train --dataset ${WORK}/${m}.h5 --backbone resnet50 --width 0.125 --depth 0.34 --latent-dim 8 --batch-size 2
          --steps 1 --epochs 1 --device cpu --no-progress --out ${WORK}/${m}-run)
endforeach()
