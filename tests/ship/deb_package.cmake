# ship.deb_package: build the Debian package with CPack, then inspect it as `apt-get install` would
# see it (dpkg-deb -I: name, version, declared dependencies; dpkg-deb -c: the command, libraries,
# headers and CMake package under /usr) and run `cmt info` from its unpacked contents. Installing
# it for real needs root and a container; CI does not have them.
# Needs -DBIN=<build dir> -DSCRATCH=<scratch dir> -DVERSION=<project version>.
cmake_minimum_required(VERSION 3.25)

file(REMOVE_RECURSE ${SCRATCH})
file(MAKE_DIRECTORY ${SCRATCH})
get_filename_component(cmake_bin_dir ${CMAKE_COMMAND} DIRECTORY)
execute_process(COMMAND ${cmake_bin_dir}/cpack -G DEB --config ${BIN}/CPackConfig.cmake -B ${SCRATCH}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
file(GLOB debs ${SCRATCH}/cmt_${VERSION}_*.deb)
if(NOT rc EQUAL 0 OR NOT debs)
  message(FATAL_ERROR "cpack failed (exit ${rc}):\n${out}\n${err}")
endif()
list(GET debs 0 deb)
message(STATUS "built ${deb}")

execute_process(COMMAND dpkg-deb -I ${deb} OUTPUT_VARIABLE info COMMAND_ERROR_IS_FATAL ANY)
foreach(want "Package: cmt" "Version: ${VERSION}" "Architecture: amd64" "Depends: [^\n]*libhdf5-103-1" "Depends: [^\n]*libdcmtk17"
             "Depends: [^\n]*libopenblas0" "Depends: [^\n]*libgomp1" "Recommends: [^\n]*libhdf5-dev")
  if(NOT info MATCHES "${want}")
    message(FATAL_ERROR "dpkg-deb -I: no '${want}' in\n${info}")
  endif()
endforeach()

execute_process(COMMAND dpkg-deb -c ${deb} OUTPUT_VARIABLE contents COMMAND_ERROR_IS_FATAL ANY)
foreach(want ./usr/bin/cmt ./usr/include/cmt/inference.h ./usr/include/cmt/engine/tensor.h ./usr/lib/cmake/cmt/cmtConfig.cmake
             ./usr/lib/cmake/cmt/cmtTargets.cmake ./usr/lib/libcmt_api.a ./usr/lib/libcmt_engine.a ./usr/share/doc/cmt/api.md
             ./usr/share/doc/cmt/examples/predict/main.cpp)
  string(FIND "${contents}" "${want}\n" pos)
  if(pos EQUAL -1)
    message(FATAL_ERROR "dpkg-deb -c: ${want} is not in the package:\n${contents}")
  endif()
endforeach()

# Every shared library the packaged `cmt` needs must be declared (or come from CUDA's repository).
execute_process(COMMAND dpkg-deb -x ${deb} ${SCRATCH}/root COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${SCRATCH}/root/usr/bin/cmt info RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "cmt")
  message(FATAL_ERROR "cmt info from the package failed (exit ${rc}):\n${out}\n${err}")
endif()
message(STATUS "cmt info from the package:\n${out}")
