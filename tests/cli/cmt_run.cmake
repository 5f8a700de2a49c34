# Helpers of the CLI test scripts: run `cmt` (${CMT}) and check its exit code and stderr.

# cmt_run(WANT_RC ARGS...): runs `cmt ARGS`; fails the test unless it exits WANT_RC ("any": any
# non-zero). Leaves its stdout and stderr in cmt_out and cmt_err.
function(cmt_run want_rc)
  execute_process(COMMAND ${CMT} ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if((want_rc STREQUAL "any" AND rc EQUAL 0) OR (NOT want_rc STREQUAL "any" AND NOT rc EQUAL want_rc))
    message(FATAL_ERROR "cmt ${ARGN}: exit ${rc}, want ${want_rc}\nstdout: ${out}\nstderr: ${err}")
  endif()
  set(cmt_out "${out}" PARENT_SCOPE)
  set(cmt_err "${err}" PARENT_SCOPE)
endfunction()

# cmt_expect_text(TEXT WHAT HAYSTACK): fails unless HAYSTACK contains TEXT.
function(cmt_expect_text text what haystack)
  string(FIND "${haystack}" "${text}" pos)
  if(pos EQUAL -1)
    message(FATAL_ERROR "${what} does not say '${text}':\n${haystack}")
  endif()
endfunction()

# cmt_count_lines(VAR REGEX TEXT): VAR = the number of lines of TEXT that match REGEX.
function(cmt_count_lines var regex text)
  string(REPLACE ";" "," text "${text}")
  string(REPLACE "\n" ";" lines "${text}")
  set(n 0)
  foreach(line IN LISTS lines)
    if(line MATCHES "${regex}")
      math(EXPR n "${n} + 1")
    endif()
  endforeach()
  set(${var} ${n} PARENT_SCOPE)
endfunction()
