# `cmt predict` refuses input of another kind than the run's data (exit 1, a message naming the
# file and both kinds) and still predicts the matching input. Runs: tests/cli/predict_runs.cmake.
include(${CMAKE_CURRENT_LIST_DIR}/cmt_run.cmake)
file(GLOB_RECURSE pngs ${WORK}/raw/xray/png/*.png)
file(GLOB_RECURSE dxs ${WORK}/raw/xray/dicom/*.dcm)
file(GLOB_RECURSE slices ${WORK}/raw/ct/dicom/*.dcm)
list(GET pngs 0 png)
list(GET dxs 0 dx)
list(GET slices 0 slice)
get_filename_component(series ${slice} DIRECTORY)

# A 2D PNG X-ray given to the 3D CT run.
cmt_run(1 predict --device cpu --run ${WORK}/ct-run ${png})
foreach(text "${png}" "2D X-ray" "3D CT")
  cmt_expect_text("${text}" "predict of a PNG with the CT run" "${cmt_err}")
endforeach()
if(NOT cmt_out STREQUAL "")
  message(FATAL_ERROR "predict of a PNG with the CT run printed a prediction: ${cmt_out}")
endif()

# A CT series given to the 2D X-ray run: each slice is refused as a CT image.
cmt_run(1 predict --device cpu --run ${WORK}/xray-run ${series})
foreach(text "${slice}" "DICOM CT" "2D X-ray")
  cmt_expect_text("${text}" "predict of a CT series with the X-ray run" "${cmt_err}")
endforeach()

# A single DX radiograph given to the CT run: 2D and X-ray.
cmt_run(1 predict --device cpu --run ${WORK}/ct-run ${dx})
foreach(text "${dx}" "DICOM DX" "3D CT")
  cmt_expect_text("${text}" "predict of a DX file with the CT run" "${cmt_err}")
endforeach()

# The matching inputs still predict.
cmt_run(0 predict --device cpu --run ${WORK}/ct-run ${series})
cmt_expect_text("${series}" "predict of a CT series with the CT run" "${cmt_out}")
cmt_run(0 predict --device cpu --run ${WORK}/xray-run ${png} ${dx})
cmt_expect_text("${png}" "predict of a PNG with the X-ray run" "${cmt_out}")
cmt_expect_text("${dx}" "predict of a DX file with the X-ray run" "${cmt_out}")
