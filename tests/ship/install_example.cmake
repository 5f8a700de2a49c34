# ship.install_example: `cmake --install` into a scratch prefix, build examples/predict against it
# with find_package(cmt) in a separate configure, make a tiny CT run with the installed `cmt`
# (synth -> prepare -> 2 training steps), then check that the example's probabilities equal
# `cmt predict`'s on a DICOM series, and that both refuse a single slice of it (a 2D image for a 3D
# CT model), and the API another model's checkpoint and a corrupt one, with a clear error.
# Needs -DBIN=<build dir> -DSRC=<source dir> -DSCRATCH=<scratch dir> -DGENERATOR=<generator>.
cmake_minimum_required(VERSION 3.25)

# A probability printed as text -> integer in units of 1e-9 (CMake's math is integer-only).
function(to_nano text out)
  if(text MATCHES "e-")
    set(${out} 0 PARENT_SCOPE)
    return()
  endif()
  string(REGEX MATCH "^([01])(\\.([0-9]*))?$" m "${text}")
  if(NOT m)
    message(FATAL_ERROR "not a probability: '${text}'")
  endif()
  set(whole ${CMAKE_MATCH_1})
  string(SUBSTRING "${CMAKE_MATCH_3}000000000" 0 9 frac)
  string(REGEX REPLACE "^0+([0-9])" "\\1" frac "${frac}")
  math(EXPR v "${whole} * 1000000000 + ${frac}")
  set(${out} ${v} PARENT_SCOPE)
endfunction()

function(run)  # run(<what> COMMAND ...): fails the test with the output on a non-zero exit
  cmake_parse_arguments(R "" "" "COMMAND" ${ARGN})
  execute_process(COMMAND ${R_COMMAND} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err WORKING_DIRECTORY ${SCRATCH})
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${ARGV0} failed (exit ${rc}):\n${out}\n${err}")
  endif()
  set(run_out "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${SCRATCH})
file(MAKE_DIRECTORY ${SCRATCH})
set(prefix ${SCRATCH}/prefix)
set(ENV{OMP_NUM_THREADS} 1)

run("install" COMMAND ${CMAKE_COMMAND} --install ${BIN} --prefix ${prefix})
foreach(f bin/cmt include/cmt/inference.h include/cmt/build_info.h include/cmt/engine/tensor.h lib/cmake/cmt/cmtConfig.cmake
          lib/cmake/cmt/cmtConfigVersion.cmake lib/cmake/cmt/cmtTargets.cmake share/doc/cmt/examples/predict/main.cpp)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "install: ${f} is missing from the prefix")
  endif()
endforeach()

# The example, configured on its own: only the installed package is visible to it.
run("configure the example" COMMAND ${CMAKE_COMMAND} -S ${prefix}/share/doc/cmt/examples/predict -B ${SCRATCH}/example
    -G ${GENERATOR} -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${prefix})
string(FIND "${run_out}" "cmt 0." pos)
if(pos EQUAL -1)
  message(FATAL_ERROR "the example's configure did not report the package version and parts:\n${run_out}")
endif()
run("build the example" COMMAND ${CMAKE_COMMAND} --build ${SCRATCH}/example -j2)
set(example ${SCRATCH}/example/cmt_predict_example)

set(cmt ${prefix}/bin/cmt)
run("cmt synth" COMMAND ${cmt} synth --out raw --modality ct --format dicom --count 12 --seed 3 --size ct=16)
run("cmt prepare" COMMAND ${cmt} prepare --input raw/ct/dicom --out ct.h5 --modality ct --size 16 --folds 3)
run("cmt train" COMMAND ${cmt} train --dataset ct.h5 --backbone resnet50 --width 0.125 --depth 0.34 --latent-dim 16
    --batch-size 4 --steps 2 --augment flip --no-progress --device cpu --out run)

file(GLOB series LIST_DIRECTORIES true ${SCRATCH}/raw/ct/dicom/covid19/*)
list(GET series 0 series)
file(GLOB slices ${series}/*.dcm)
list(GET slices 0 slice)
foreach(input ${series})
  run("cmt predict ${input}" COMMAND ${cmt} predict --run run --device cpu --json ${input})
  string(JSON expected GET "${run_out}" 0 probabilities)
  run("the example on ${input}" COMMAND ${example} --device cpu --threads 2 run ${input} ${input} ${input})
  string(REGEX MATCHALL "probability [^\n]+" lines "${run_out}")
  list(LENGTH lines n)
  if(NOT n EQUAL 9)
    message(FATAL_ERROR "the example printed ${n} probabilities, expected 3 classes x 3 requests:\n${run_out}")
  endif()
  foreach(line ${lines})
    string(REGEX REPLACE "probability ([^ ]+) (.+)" "\\1;\\2" kv "${line}")
    list(GET kv 0 cls)
    list(GET kv 1 p)
    string(JSON q GET "${expected}" ${cls})
    to_nano(${p} pn)
    to_nano(${q} qn)
    math(EXPR diff "${pn} - ${qn}")
    if(diff GREATER 100 OR diff LESS -100)
      message(FATAL_ERROR "${input}: the example gives ${cls} = ${p}, `cmt predict` ${q}")
    endif()
  endforeach()
  string(FIND "${run_out}" "latent 16" pos)
  if(pos EQUAL -1)
    message(FATAL_ERROR "the example's latent vector is not 16 long:\n${run_out}")
  endif()
  message(STATUS "${input}: the example agrees with cmt predict: ${expected}")
endforeach()

# Refusals. One slice of the series is a 2D image: the 3D CT model must not answer for it.
foreach(cmd "${cmt};predict;--run;run;--device;cpu;${slice}" "${example};--device;cpu;run;${slice}")
  execute_process(COMMAND ${cmd} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err WORKING_DIRECTORY ${SCRATCH})
  string(FIND "${err}" "single DICOM CT image (2D), but the run was trained on 3D CT" pos)
  if(rc EQUAL 0 OR pos EQUAL -1)
    message(FATAL_ERROR "${cmd} should refuse a single slice for a 3D CT model; exit ${rc}:\n${out}\n${err}")
  endif()
  message(STATUS "refused as expected: ${err}")
endforeach()
# Another model: the run folder now describes latent 32, the checkpoint holds latent 16.
file(COPY ${SCRATCH}/run/ DESTINATION ${SCRATCH}/other)
file(READ ${SCRATCH}/other/config.json config)
string(JSON config SET "${config}" latent_dim 32)
file(WRITE ${SCRATCH}/other/config.json "${config}")
# Corrupt: a text file, and a checkpoint cut after 4 KiB.
file(WRITE ${SCRATCH}/garbage.h5 "this is not a checkpoint")
execute_process(COMMAND head -c 4096 ${SCRATCH}/run/last.h5 OUTPUT_FILE ${SCRATCH}/truncated.h5 COMMAND_ERROR_IS_FATAL ANY)
foreach(case "other;last;holds" "run;${SCRATCH}/garbage.h5;not an HDF5 file" "run;${SCRATCH}/truncated.h5;corrupt or truncated" "run;${SCRATCH}/missing.h5;no such file")
  list(GET case 0 dir)
  list(GET case 1 ckpt)
  list(GET case 2 words)
  execute_process(COMMAND ${example} --checkpoint ${ckpt} ${dir} ${series} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                  WORKING_DIRECTORY ${SCRATCH})
  string(FIND "${err}" "${words}" pos)
  if(rc EQUAL 0 OR pos EQUAL -1 OR NOT err MATCHES "^error: ")
    message(FATAL_ERROR "the API should refuse ${dir} with checkpoint ${ckpt} naming '${words}'; exit ${rc}: ${err}")
  endif()
  message(STATUS "refused as expected: ${err}")
endforeach()
