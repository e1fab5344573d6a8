# Xenlint.cmake: check the Xen ELF notes of a linked kernel image after every link.
#
#   list(APPEND CMAKE_MODULE_PATH "${CMAKE_SOURCE_DIR}/cmake")   # where you put this file
#   include(Xenlint)
#   add_executable(kernel ...)
#   xenlint_check(TARGET kernel
#                 [CONFIG xenlint.toml]            # default: found from the source dir
#                 [OUTPUT_FILE report.sarif FORMAT sarif]   # also write a report
#                 [ARGS --target "xen>=4.7" ...])  # more xenlint options
#
# The check is a custom command whose output is a stamp file, touched only when xenlint
# passes, and which depends on the linked image (and on CONFIG): it runs after every relink
# and after a change of the config, and a check that failed runs again on the next build,
# since its stamp is missing. The image itself is kept, so it can be inspected or booted.
# The `<target>_xenlint` target is part of ALL, so `cmake --build` fails while the image
# has error findings. (A POST_BUILD command also fails the build, but it is part of the
# link: CMake 3.25's Makefile generator then deletes the image, and it cannot depend on the
# config or declare the report it writes.)
#
# xenlint runs in the source directory, so without CONFIG it finds the project's
# xenlint.toml or pyproject.toml as it does when run by hand there.
#
# xenlint prints each mistake as one line with its fix (--show-fixes), on standard error
# (--stderr), as the make and Kbuild recipe does.
#
# xenlint is optional: where it is not installed the project configures with one
# "xenlint not found" message and the kernel builds unchecked; XENLINT_REQUIRED makes that a
# configure error (for CI and release builds).
#
# Needs CMake 3.17 (cmake -E rm). Cache options: XENLINT_EXECUTABLE (the program, found on
# PATH), XENLINT_WARN_ONLY (report but never fail: xenlint --exit-zero), XENLINT_REQUIRED
# (fail when xenlint is not found).

include_guard(GLOBAL)

find_program(XENLINT_EXECUTABLE NAMES xenlint DOC "xenlint, the Xen ELF note linter")
option(XENLINT_WARN_ONLY "Report xenlint findings without failing the build" OFF)
option(XENLINT_REQUIRED "Fail to configure when xenlint is not found" OFF)

function(xenlint_check)
  cmake_parse_arguments(PARSE_ARGV 0 XL "" "TARGET;CONFIG;OUTPUT_FILE;FORMAT" "ARGS")
  if(NOT XL_TARGET)
    message(FATAL_ERROR "xenlint_check: TARGET is required")
  endif()
  if(NOT TARGET ${XL_TARGET})
    message(FATAL_ERROR "xenlint_check: ${XL_TARGET} is not a target")
  endif()
  if(NOT XENLINT_EXECUTABLE)
    if(XENLINT_REQUIRED)
      message(FATAL_ERROR "xenlint_check: xenlint not found, and XENLINT_REQUIRED is set; "
                          "install it (pip install xenlint) or set XENLINT_EXECUTABLE")
    endif()
    message(STATUS "xenlint not found: ${XL_TARGET} is not checked "
                   "(-DXENLINT_REQUIRED=ON to require it)")
    return()
  endif()

  set(command ${XENLINT_EXECUTABLE})
  set(config_dependency "")
  if(XL_CONFIG)
    get_filename_component(config "${XL_CONFIG}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND command --config "${config}")
    set(config_dependency "${config}")
  endif()
  if(XL_FORMAT)
    list(APPEND command --format "${XL_FORMAT}")
  endif()
  set(byproducts "")
  if(XL_OUTPUT_FILE)
    get_filename_component(report "${XL_OUTPUT_FILE}" ABSOLUTE
                           BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")
    list(APPEND command --output-file "${report}")
    set(byproducts BYPRODUCTS "${report}")
  endif()
  if(XENLINT_WARN_ONLY)
    list(APPEND command --exit-zero)
  endif()
  list(APPEND command --show-fixes --stderr --quiet ${XL_ARGS} "$<TARGET_FILE:${XL_TARGET}>")

  set(stamp "${CMAKE_CURRENT_BINARY_DIR}/${XL_TARGET}.xenlint.stamp")
  add_custom_command(
    OUTPUT "${stamp}"
    # Remove the stamp first: a failing check must leave no stamp behind.
    COMMAND "${CMAKE_COMMAND}" -E rm -f "${stamp}"
    COMMAND ${command}
    COMMAND "${CMAKE_COMMAND}" -E touch "${stamp}"
    ${byproducts}
    DEPENDS ${XL_TARGET} "$<TARGET_FILE:${XL_TARGET}>" ${config_dependency}
    WORKING_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}"
    COMMENT "XENLINT ${XL_TARGET}"
    VERBATIM)
  add_custom_target(${XL_TARGET}_xenlint ALL DEPENDS "${stamp}")
endfunction()
