# Install rules and the exported CMake package (find_package(cmt), cmake/cmtConfig.cmake.in):
# the `cmt` command, the static libraries, the public API (include/cmt/*.h), the floors' headers,
# the examples and the reference docs. Included from the top level after every target exists.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)
set(CMT_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/cmt)
# Public API: include/cmt/*.h. The floors' headers (what cmt::engine & co. expose) go under
# include/cmt/<floor>/ and are included as "engine/tensor.h" etc.
set(CMT_LIBRARY_TARGETS cmt_kernels cmt_engine cmt_data cmt_models cmt_api)
foreach(t ${CMT_LIBRARY_TARGETS})
  string(REPLACE "cmt_" "" export_name ${t})
  set_target_properties(${t} PROPERTIES EXPORT_NAME ${export_name})
endforeach()
target_include_directories(cmt_kernels PUBLIC $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/cmt>
                                              $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
set(CMT_HELPER_TARGETS)
foreach(t cmt_cudnn_lib cmt_nccl_lib)
  if(TARGET ${t})
    list(APPEND CMT_HELPER_TARGETS ${t})
  endif()
endforeach()
install(TARGETS cmt ${CMT_LIBRARY_TARGETS} ${CMT_HELPER_TARGETS} EXPORT cmtTargets
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY include/cmt DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
# models/backbone_convs.h (the backbones' conv shapes, for the tests and benchmarks) is not API.
install(DIRECTORY kernels engine data models api DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/cmt FILES_MATCHING PATTERN "*.h"
        PATTERN "backbone_convs.h" EXCLUDE)
install(FILES ${CMAKE_BINARY_DIR}/generated/cmt/build_info.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/cmt)
install(EXPORT cmtTargets NAMESPACE cmt:: DESTINATION ${CMT_INSTALL_CMAKEDIR})
configure_package_config_file(cmake/cmtConfig.cmake.in ${CMAKE_BINARY_DIR}/cmtConfig.cmake INSTALL_DESTINATION ${CMT_INSTALL_CMAKEDIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/cmtConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/cmtConfig.cmake ${CMAKE_BINARY_DIR}/cmtConfigVersion.cmake DESTINATION ${CMT_INSTALL_CMAKEDIR})
install(DIRECTORY examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(DIRECTORY configs/ DESTINATION ${CMAKE_INSTALL_DATADIR}/cmt/configs)  # the paper's settings per modality
install(FILES docs/api.md docs/checkpoint-format.md docs/dataset-format.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
