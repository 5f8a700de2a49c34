# Compiles through ccache when CMT_USE_CCACHE is on and ccache is installed (developer machines);
# CI builds once and does not need it.
find_program(CMT_CCACHE ccache)
if(CMT_USE_CCACHE AND CMT_CCACHE)
  set(CMAKE_C_COMPILER_LAUNCHER ${CMT_CCACHE})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CMT_CCACHE})
  set(CMAKE_CUDA_COMPILER_LAUNCHER ${CMT_CCACHE})
endif()
