# Fails when a C++ file of the project differs from what clang-format makes of it.
file(GLOB_RECURSE sources
  ${ROOT}/format/*.h ${ROOT}/format/*.cpp ${ROOT}/preload/*.h ${ROOT}/preload/*.cpp
  ${ROOT}/analyzer/*.h ${ROOT}/analyzer/*.cpp ${ROOT}/viewer/*.h ${ROOT}/viewer/*.cpp
  ${ROOT}/samples/*.h ${ROOT}/samples/*.cpp ${ROOT}/tests/*.h ${ROOT}/tests/*.cpp
  ${ROOT}/bench/*.h ${ROOT}/bench/*.cpp)
execute_process(COMMAND ${CLANG_FORMAT} --dry-run --Werror ${sources} RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "clang-format: the files above are not formatted; run clang-format -i on them")
endif()
