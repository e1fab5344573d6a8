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
# which prints, Kbuild style,
#
#       XENLINT vmlinux
#
# (the full command with V=1, nothing with make -s) and then each finding as
# `vmlinux: error: XL201 ...`.
#
# A finding of error severity fails the recipe, so the image is not built: with
# .DELETE_ON_ERROR make deletes it and the next `make` relinks and checks again, instead of
# trusting a broken image because it is newer than its objects. Without .DELETE_ON_ERROR a
# failed check leaves the image in place and the next `make` considers it up to date.
#
# Variables (set them in the environment, on the make command line or before the include):
#   XENLINT            the command (default: xenlint)
#   XENLINT_FLAGS      extra options, e.g. --config $(srctree)/xenlint.toml --target 'xen>=4.7'
#   XENLINT_WARN_ONLY  1: report findings but never fail the build (xenlint --exit-zero), so
#                      the image is kept; for developers who want to boot it anyway
#   XENLINT_SKIP       1: do not run xenlint at all

XENLINT ?= xenlint
XENLINT_FLAGS ?=
XENLINT_WARN_ONLY ?=
XENLINT_SKIP ?=

xenlint_warn_only = $(filter 1 y yes true,$(XENLINT_WARN_ONLY))
xenlint_skip = $(filter 1 y yes true,$(XENLINT_SKIP))

quiet_cmd_xenlint = $(if $(xenlint_skip),,XENLINT $@)
      cmd_xenlint = $(if $(xenlint_skip),true,$(strip $(XENLINT) $(XENLINT_FLAGS) \
                    $(if $(xenlint_warn_only),--exit-zero) --quiet $@))

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
xenlint_escsq = $(subst ','\'',$(1))
cmd = @set -e; $(if $($(xenlint_quiet)cmd_$(1)),echo '  $(call xenlint_escsq,$($(xenlint_quiet)cmd_$(1)))';) $(cmd_$(1))
endif
