# Builds TARGET in BUILD_DIR, expects the build to fail, and expects every regular expression
# in EXPECT (a ;-list) in the compiler's output. Run with cmake -P.
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target ${TARGET}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(output "${out}${err}")
if(rc EQUAL 0)
  message(FATAL_ERROR "${TARGET} compiled, but it must not")
endif()
foreach(expected IN LISTS EXPECT)
  string(REGEX MATCH "${expected}" found "${output}")
  if(NOT found)
    message(FATAL_ERROR "${TARGET} failed to compile, but its output lacks '${expected}':\n${output}")
  endif()
endforeach()
message(STATUS "${TARGET} failed to compile as expected")
