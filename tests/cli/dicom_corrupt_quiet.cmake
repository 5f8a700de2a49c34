# A corrupt DICOM file (a synth radiograph followed by a garbage element) gives exactly one
# message from cmt naming it, and none of DCMTK's own "E:"/"W:" lines; --verbose shows DCMTK's
# detail under cmt's prefix. Runs: tests/cli/predict_runs.cmake.
include(${CMAKE_CURRENT_LIST_DIR}/cmt_run.cmake)
file(GLOB_RECURSE dxs ${WORK}/raw/xray/dicom/*.dcm)
list(GET dxs 0 dx)
set(bad_dir ${WORK}/corrupt)
file(REMOVE_RECURSE ${bad_dir})
file(MAKE_DIRECTORY ${bad_dir}/normal ${bad_dir}/covid19)
set(bad ${bad_dir}/normal/bad.dcm)
# A whole radiograph, then an element of unknown tag (4141,4141), VR UN and a length past the end of
# the file: DCMTK logs a warning and an error of its own for it and fails the read.
execute_process(COMMAND ${CMAKE_COMMAND} -E copy ${dx} ${bad})
file(APPEND ${bad} "AAAAUNAAAAAAgarbage")
list(GET dxs 1 good_a)
list(GET dxs 2 good_b)
file(COPY ${good_a} DESTINATION ${bad_dir}/normal)
file(COPY ${good_b} DESTINATION ${bad_dir}/covid19)

function(expect_one_cmt_line what)
  cmt_count_lines(dcmtk "^[EWF]: " "${cmt_err}")
  cmt_count_lines(lines "." "${cmt_err}")
  if(NOT dcmtk EQUAL 0 OR NOT lines EQUAL 1)
    message(FATAL_ERROR "${what}: want exactly one line from cmt and no DCMTK lines on stderr, got:\n${cmt_err}")
  endif()
  cmt_expect_text("${bad}" "${what}" "${cmt_err}")
endfunction()

cmt_run(1 predict --device cpu --run ${WORK}/xray-run ${bad})
expect_one_cmt_line("predict of a corrupt DICOM file")
cmt_run(0 prepare --input ${bad_dir} --out ${bad_dir}/out.h5 --modality xray --size 16 --folds 1)
expect_one_cmt_line("prepare of a folder with a corrupt DICOM file")

cmt_run(1 predict --verbose --device cpu --run ${WORK}/xray-run ${bad})
cmt_count_lines(detail "^cmt: dcmtk (error|warning): " "${cmt_err}")
if(detail EQUAL 0)
  message(FATAL_ERROR "predict --verbose of a corrupt DICOM file shows no DCMTK detail:\n${cmt_err}")
endif()
