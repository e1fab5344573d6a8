#!/usr/bin/env bash
# check-real-build.sh: xenlint as the post-link gate of a real Linux build, judged by QEMU.
#
# Builds Debian's Linux 6.1 (linux-source-6.1) as a tinyconfig PVH kernel with
# contrib/linux/Makefile.postlink and contrib/make/xenlint.mk installed as the README says,
# then breaks it the three ways issue 10 names:
#   virtual-entry   PHYS32_ENTRY without `- __START_KERNEL_map` (arch/x86/platform/pvh/head.S)
#   aligned-note    an 8-aligned note ahead of the Xen notes (head_64.S), which makes the
#                   PT_NOTE's p_align 8
#   features-name   hvm_callback_vector in the FEATURES string (arch/x86/xen/xen-head.S)
# For each kernel it records what the gate says under `make -s` (exit status and the lines
# it printed), what `xenlint --target qemu-7.2` predicts for QEMU, and whether the real
# qemu-system-x86_64 -kernel vmlinux prints the kernel's banner; then it scans the build
# directory. It exits 1 when a prediction and QEMU disagree or a check below fails.
#
# Usage: contrib/linux/check-real-build.sh [WORKDIR]      (default /tmp/xenlint-real-build)
# Needs: /usr/src/linux-source-6.1.tar.xz (apt-get install linux-source-6.1), gcc, make,
# flex, bison, bc, libelf-dev, qemu-system-x86_64, and xenlint on PATH (or XENLINT=...).
# JOBS (default: nproc) parallel jobs; BOOT_TIMEOUT (default 120) seconds per QEMU boot.
# The first run takes 10-30 minutes on 2 cores; later runs reuse WORKDIR's tree.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
work=${1:-/tmp/xenlint-real-build}
tarball=${LINUX_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
jobs=${JOBS:-$(nproc)}
boot_timeout=${BOOT_TIMEOUT:-120}
XENLINT=${XENLINT:-xenlint}
export XENLINT
src=$work/linux-source-6.1
obj=$work/build
log=$work/logs
mkdir -p "$work" "$log"

command -v "${XENLINT%% *}" >/dev/null || { echo "check-real-build: $XENLINT not found" >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null || { echo "check-real-build: qemu-system-x86_64 not found" >&2; exit 2; }

if [ ! -d "$src" ]; then
    [ -f "$tarball" ] || { echo "check-real-build: $tarball missing (apt-get install linux-source-6.1)" >&2; exit 2; }
    echo "unpacking $tarball"
    tar -xJf "$tarball" -C "$work"
fi
# The recipes, installed as the README says.
cp "$here/../make/xenlint.mk" "$src/scripts/xenlint.mk"
cp "$here/Makefile.postlink" "$src/arch/x86/Makefile.postlink"

kmake() { make -C "$src" O="$obj" -j"$jobs" "$@"; }

if [ ! -f "$obj/.config" ]; then
    mkdir -p "$obj"
    kmake -s tinyconfig
    "$src/scripts/config" --file "$obj/.config" \
        -e 64BIT -e HYPERVISOR_GUEST -e PARAVIRT -e PVH -e XEN -e ACPI -e XEN_PVH \
        -e PRINTK -e TTY -e SERIAL_8250 -e SERIAL_8250_CONSOLE
    kmake -s olddefconfig
fi
for option in 64BIT XEN XEN_PVH PVH SERIAL_8250_CONSOLE; do
    grep -q "^CONFIG_$option=y" "$obj/.config" || { echo "check-real-build: CONFIG_$option is not set" >&2; exit 2; }
done

pvh=arch/x86/platform/pvh/head.S
head64=arch/x86/kernel/head_64.S
xenhead=arch/x86/xen/xen-head.S
for f in $pvh $head64 $xenhead; do
    [ -f "$src/$f.orig" ] || cp "$src/$f" "$src/$f.orig"
done
restore() { for f in $pvh $head64 $xenhead; do cp "$src/$f.orig" "$src/$f"; done; }
trap restore EXIT

break_kernel() {
    restore
    case $1 in
    good) ;;
    virtual-entry)
        sed -i 's/_ASM_PTR (pvh_start_xen - __START_KERNEL_map))/_ASM_PTR pvh_start_xen)/' "$src/$pvh"
        grep -q '_ASM_PTR pvh_start_xen)' "$src/$pvh" ;;
    aligned-note)
        cat >>"$src/$head64" <<'EOF'

	/* check-real-build: an 8-aligned note linked ahead of the Xen notes (a lone
	   .note.gnu.property is dropped by ld when the other objects have none, so the
	   run of 2026-11-30 booted: use a section name ld does not merge) */
	.pushsection .note.aligned8, "a", @note
	.balign 8
	.long 4, 16, 5
	.asciz "GNU"
	.long 0xc0000002, 4, 3, 0
	.popsection
EOF
        ;;
    features-name)
        sed -i 's/.ascii "!writable_page_tables|pae_pgdir_above_4gb")/.ascii "!writable_page_tables|pae_pgdir_above_4gb|hvm_callback_vector")/' "$src/$xenhead"
        grep -q 'hvm_callback_vector")' "$src/$xenhead" ;;
    esac
}

boots() {  # prints "banner" or "no banner"
    local out=$log/$1.qemu
    timeout "$boot_timeout" qemu-system-x86_64 -kernel "$obj/vmlinux" \
        -append "console=ttyS0 panic=-1" -nographic -no-reboot -m 256 -display none \
        -serial stdio -monitor none </dev/null >"$out" 2>&1 || true
    if grep -q "Linux version 6\.1" "$out"; then echo banner; else echo "no banner"; fi
}

status=0
printf '%-14s %-8s %-22s %-16s %-10s %s\n' kernel "make -s" "gate lines (codes)" "xenlint qemu-7.2" "QEMU 7.2" agree
for variant in good virtual-entry aligned-note features-name; do
    break_kernel "$variant"
    set +e
    kmake -s vmlinux >"$log/$variant.out" 2>"$log/$variant.err"
    built=$?
    set -e
    gate=$([ $built -eq 0 ] && echo pass || echo fail)
    lines=$(grep -c '^vmlinux: ' "$log/$variant.err" || true)
    codes=$(grep -o '^vmlinux: [a-z]*: XL[0-9]*' "$log/$variant.err" | awk '{print $3}' | paste -sd, - || true)
    [ -f "$obj/vmlinux" ] || kmake -s XENLINT_SKIP=1 vmlinux >/dev/null  # the image to boot
    set +e
    $XENLINT --isolated --target qemu-7.2 --quiet "$obj/vmlinux" >"$log/$variant.qemu-verdict"
    predicted=$?
    set -e
    predicted=$([ $predicted -eq 0 ] && echo boots || echo fails)
    booted=$(boots "$variant")
    agree=yes
    if [ "$predicted" = boots ] && [ "$booted" != banner ]; then agree=NO; status=1; fi
    if [ "$predicted" = fails ] && [ "$booted" = banner ]; then agree=NO; status=1; fi
    printf '%-14s %-8s %-22s %-16s %-10s %s\n' "$variant" "$gate" "$lines (${codes:-none})" "$predicted" "$booted" "$agree"
    if [ "$variant" = good ]; then
        if [ $built -ne 0 ] || [ -s "$log/$variant.err" ]; then
            echo "  FAIL: the good kernel's make -s printed or failed" >&2; status=1
        fi
        cp "$obj/vmlinux" "$work/vmlinux.good"
    else
        [ $built -ne 0 ] || { echo "  FAIL: the gate let $variant through" >&2; status=1; }
        dups=$(grep -o '^vmlinux: [a-z]*: XL[0-9]*' "$log/$variant.err" | sort | uniq -d || true)
        [ -z "$dups" ] || { echo "  FAIL: more than one line for $dups" >&2; status=1; }
    fi
done
restore
trap - EXIT

echo
for variant in virtual-entry aligned-note features-name; do
    echo "--- make -s, $variant (standard error):"
    cat "$log/$variant.err"
done

echo
echo "--- xenlint --isolated vmlinux (the good kernel, default settings):"
set +e
$XENLINT --isolated "$work/vmlinux.good"
rc=$?
set -e
echo "exit $rc"
[ $rc -eq 0 ] || status=1

# The build directory: every file skipped but the kernel images (vmlinux, its stripped copy,
# the bzImage if one was built).
kmake -s XENLINT_SKIP=1 vmlinux >/dev/null
echo
echo "--- xenlint --isolated -v $obj (the good build's object tree):"
set +e
$XENLINT --isolated -v "$obj" 2>"$log/scan.err"
rc=$?
set -e
grep -v '^xenlint: skipped ' "$log/scan.err" || true
echo "skipped: $(grep -c '^xenlint: skipped ' "$log/scan.err") files; exit $rc"
[ $rc -eq 0 ] || status=1
exit $status
