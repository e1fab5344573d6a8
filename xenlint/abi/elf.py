"""ELF constants xenlint reads, from the System V gABI (glibc `elf.h` spells the same values).

Only the numbers the image reader, the replays and the rules compare with live here; the
struct layouts are in `xenlint.image.elfheaders`.
"""

from __future__ import annotations

# e_ident[EI_MAG0..3] (gABI "ELF Identification").
ELF_MAGIC = b"\x7fELF"
# e_type (gABI "ELF Header").
ET_REL, ET_EXEC, ET_DYN = 1, 2, 3
# Program header p_type (gABI "Segment Types"); PT_INTERP names a program interpreter.
PT_LOAD = 1
PT_INTERP = 3
PT_NOTE = 4
# Program header p_flags (gABI "Segment Flag Bits").
PF_X, PF_W, PF_R = 1, 2, 4
# Section header sh_type (gABI "Section Types"): SHT_NOBITS occupies no file bytes (.bss).
SHT_NOTE = 7
SHT_NOBITS = 8
# e_machine (gABI "ELF Header"; processor supplements for ARM/AArch64).
EM_386, EM_X86_64 = 3, 62
EM_ARM, EM_AARCH64 = 40, 183

MACHINE_NAMES = {
    EM_386: "x86 (EM_386)",
    EM_X86_64: "x86-64 (EM_X86_64)",
    EM_ARM: "ARM (EM_ARM)",
    EM_AARCH64: "AArch64",
}
