; A NASM unikernel boot stub with a PVH entry (written for xenlint's tests). NASM ships no
; ELFNOTE macro, so the note header is written field by field, as unikernels do.
BITS 32

SECTION .note.Xen note alloc noexec nowrite align=4
align 4, db 0
xen_note:
	dd 4                              ; namesz: "Xen\0"
	dd .desc_end - .desc              ; descsz
	dd 18                             ; XEN_ELFNOTE_PHYS32_ENTRY
	db "Xen", 0
.desc:
	dd start32
.desc_end:

SECTION .text
global start32
start32:
	hlt
	jmp start32
