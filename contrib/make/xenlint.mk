# xenlint.mk: check the Xen ELF notes of a linked kernel image as part of a Make build.
#
# Include it from a Kbuild Makefile.postlink or any Makefile, then call it in the recipe that
# links the image, right after the link command:
#
#     include xenlint.mk
#     .DELETE_ON_ERROR:            # Kbuild already sets this (scripts/Kbuild.include)
#
#     vmlinux: $(OBJS) kernel.ld
#             $(LD) $(LDFLAGS) -T kernel.ld -o $@ $(OBJS)
#             $(call cmd,xenlint)
#
# which prints, Kbuild style, `  XENLINT vmlinux` (the full command with V=1, nothing with
# make -s) and nothing else for a good image. For a broken one it prints each mistake as one
# line with its fix under it, on standard error, so they show under every verbosity: Kbuild's
# make -s sends a command's standard output to /dev/null, as objtool's and modpost's
# messages, which also go to standard error, are not:
#
#     vmlinux: error: XL201 phys32-entry-not-32bit: PHYS32_ENTRY is 0xffffffff810005f0, ...
#       fix: `pvh_start_xen` (0xffffffff810005f0) is a virtual address; write
#       `pvh_start_xen - __START_KERNEL_map` (0x10005f0)
#
# A finding of error severity fails the recipe, so the image is not built: with
# .DELETE_ON_ERROR make deletes it and the next `make` relinks and checks again, instead of
# trusting a broken image because it is newer than its objects. Without .DELETE_ON_ERROR a
# failed check leaves the image in place and the next `make` considers it up to date.
#
# xenlint is optional, as Kbuild's optional checkers are: where $(XENLINT) is not installed
# the image is built unchecked and one line on standard error says so. XENLINT_REQUIRED=1
# turns that into an error (for CI and release builds).
#
# Variables (set them in the environment, on the make command line or before the include):
#   XENLINT            the command (default: xenlint)
#   XENLINT_FLAGS      extra options, e.g. --config $(srctree)/xenlint.toml --target 'xen>=4.7'
#   XENLINT_REQUIRED   1: fail the build when $(XENLINT) is not installed
#   XENLINT_WARN_ONLY  1: report findings but never fail the build (xenlint --exit-zero), so
#                      the image is kept; for developers who want to boot it anyway
#   XENLINT_SKIP       1: do not run xenlint at all

XENLINT ?= xenlint
XENLINT_FLAGS ?=
XENLINT_REQUIRED ?=
XENLINT_WARN_ONLY ?=
XENLINT_SKIP ?=

xenlint_yes = $(filter 1 y yes true,$(1))
xenlint_skip = $(call xenlint_yes,$(XENLINT_SKIP))
# Looked up once per make, by the shell, as the recipe would run it.
xenlint_program := $(firstword $(XENLINT))
xenlint_missing := $(if $(xenlint_skip),,$(if $(shell command -v $(xenlint_program) 2>/dev/null),,1))
xenlint_escsq = $(subst ','\'',$(1))
xenlint_comma := ,

# --show-fixes: the fix goes into the build log with the mistake; --stderr: where make -s
# does not hide it; --quiet: a good image prints nothing at all.
xenlint_run = $(strip $(XENLINT) $(XENLINT_FLAGS) \
              $(if $(call xenlint_yes,$(XENLINT_WARN_ONLY)),--exit-zero) \
              --show-fixes --stderr --quiet $@)
xenlint_absent = $(if $(call xenlint_yes,$(XENLINT_REQUIRED)),\
  echo >&2 'xenlint: error: $(call xenlint_escsq,$(xenlint_program)) not found$(xenlint_comma) and XENLINT_REQUIRED is set: install xenlint (pip install xenlint) or set XENLINT'; false,\
  echo >&2 '  XENLINT $@: not checked$(xenlint_comma) $(call xenlint_escsq,$(xenlint_program)) not found (make XENLINT_REQUIRED=1 to require it)')

quiet_cmd_xenlint = $(if $(xenlint_skip)$(xenlint_missing),,XENLINT $@)
      cmd_xenlint = $(if $(xenlint_skip),true,$(if $(xenlint_missing),$(xenlint_absent),$(xenlint_run)))

# Outside Kbuild: a `cmd` that echoes like Kbuild's (scripts/Kbuild.include): the quiet_cmd_
# text by default, the command itself with V=1, nothing with make -s. Kbuild's own is used
# when it is already defined.
ifeq ($(origin cmd),undefined)
ifeq ($(V),1)
xenlint_quiet :=
else ifneq ($(findstring s,$(firstword -$(MAKEFLAGS))),)
xenlint_quiet := silent_
else
xenlint_quiet := quiet_
endif
cmd = @set -e; $(if $($(xenlint_quiet)cmd_$(1)),echo '  $(call xenlint_escsq,$($(xenlint_quiet)cmd_$(1)))';) $(cmd_$(1))
endif
