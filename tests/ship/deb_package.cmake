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
foreach(want "Package: cmt" "Version: ${VERSION}" "Architecture: amd64" "Depends: [^\n]*libhdf5-103-1" "Depends: [^\n]*libdcmtk17" "Depends: [^\n]*libnifti2-2"
             "Depends: [^\n]*libopenblas0" "Depends: [^\n]*libgomp1" "Recommends: [^\n]*libhdf5-dev")
  if(NOT info MATCHES "${want}")
    message(FATAL_ERROR "dpkg-deb -I: no '${want}' in\n${info}")
  endif()
endforeach()

execute_process(COMMAND dpkg-deb -c ${deb} OUTPUT_VARIABLE contents COMMAND_ERROR_IS_FATAL ANY)
foreach(want ./usr/bin/cmt ./usr/include/cmt/inference.h ./usr/include/cmt/engine/tensor.h ./usr/lib/cmake/cmt/cmtConfig.cmake
             ./usr/lib/cmake/cmt/cmtTargets.cmake ./usr/lib/libcmt_api.a ./usr/lib/libcmt_engine.a ./usr/share/doc/cmt/api.md
             ./usr/share/doc/cmt/examples/predict/main.cpp ./usr/share/cmt/configs/ct.json ./usr/share/cmt/configs/xray.json)
  string(FIND "${contents}" "${want}\n" pos)
  if(pos EQUAL -1)
    message(FATAL_ERROR "dpkg-deb -c: ${want} is not in the package:\n${contents}")
  endif()
endforeach()

execute_process(COMMAND dpkg-deb -x ${deb} ${SCRATCH}/root COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${SCRATCH}/root/usr/bin/cmt info RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "cmt")
  message(FATAL_ERROR "cmt info from the package failed (exit ${rc}):\n${out}\n${err}")
endif()
message(STATUS "cmt info from the package:\n${out}")

# Every shared library the packaged `cmt` links directly must come from a declared dependency
# (libraries that no Debian package owns here, e.g. a CUDA toolkit from NVIDIA's tarball, are listed).
string(REGEX MATCH "Depends: [^\n]*" depends "${info}")
execute_process(COMMAND objdump -p ${SCRATCH}/root/usr/bin/cmt OUTPUT_VARIABLE dyn COMMAND_ERROR_IS_FATAL ANY)
string(REGEX MATCHALL "NEEDED +[^\n]+" needed "${dyn}")
execute_process(COMMAND ldd ${SCRATCH}/root/usr/bin/cmt OUTPUT_VARIABLE ldd_out)
foreach(n ${needed})
  string(REGEX REPLACE "NEEDED +" "" lib "${n}")
  string(STRIP "${lib}" lib)
  if(lib MATCHES "^ld-linux")
    continue()  # the dynamic loader, part of libc6
  endif()
  string(FIND "${ldd_out}" "${lib} => " at)  # (no regex: names like libstdc++ hold regex characters)
  if(at EQUAL -1)
    message(FATAL_ERROR "${lib}: not found by ldd")
  endif()
  string(SUBSTRING "${ldd_out}" ${at} -1 rest)
  string(REGEX MATCH "=> ([^ ]+)" m "${rest}")
  set(path "${CMAKE_MATCH_1}")
  file(REAL_PATH "${path}" real)
  get_filename_component(real_name "${real}" NAME)
  get_filename_component(real_dir "${real}" DIRECTORY)
  get_filename_component(real_dir "${real_dir}" NAME)
  # By folder and name: /lib and /usr/lib are one folder on merged-/usr systems, dpkg knows one of them.
  execute_process(COMMAND dpkg -S "*/${real_dir}/${real_name}" RESULT_VARIABLE rc OUTPUT_VARIABLE owner ERROR_QUIET)
  if(NOT rc EQUAL 0)
    message(STATUS "${lib}: ${real} belongs to no Debian package here (not checked)")
    continue()
  endif()
  string(REGEX REPLACE ":[^\n]*" "" pkg "${owner}")
  string(STRIP "${pkg}" pkg)
  string(REPLACE "+" "\\+" pkg_re "${pkg}")
  string(REGEX MATCH "[ ,]${pkg_re}(,|$| )" declared "${depends}")
  if(NOT declared)
    message(FATAL_ERROR "cmt links ${lib} (Debian package ${pkg}), which the package does not declare: ${depends}")
  endif()
  message(STATUS "${lib}: ${pkg}, declared")
endforeach()
