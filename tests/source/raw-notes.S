/*
 * A boot stub that writes its notes as raw directives, without any ELFNOTE macro, as small
 * kernels and unikernels in GNU as do. (Written for xenlint's tests.)
 */
#include <xen/elfnote.h>

	.set	KERNEL_BASE, 0xffffffff80000000

	.text
	.globl	xen_start
xen_start:
	hlt
	jmp	xen_start
	.code32
pvh_start:
	hlt
	jmp	pvh_start

	.pushsection .note.Xen, "a", @note
	.balign 4
	.long	2f - 1f
	.long	4f - 3f
	.long	XEN_ELFNOTE_GUEST_OS
1:	.asciz	"Xen"
2:	.balign 4
3:	.asciz	"linux"
4:	.balign 4

	.long	2f - 1f
	.long	4f - 3f
	.long	XEN_ELFNOTE_XEN_VERSION
1:	.asciz	"Xen"
2:	.balign 4
3:	.asciz	"xen-3.0"
4:	.balign 4

	.long	2f - 1f
	.long	4f - 3f
	.long	XEN_ELFNOTE_LOADER
1:	.asciz	"Xen"
2:	.balign 4
3:	.asciz	"generic"
4:	.balign 4

	.long	2f - 1f
	.long	4f - 3f
	.long	XEN_ELFNOTE_FEATURES
1:	.asciz	"Xen"
2:	.balign 4
3:	.asciz	"!writable_page_tables"
4:	.balign 4

	.long	2f - 1f
	.long	4f - 3f
	.long	XEN_ELFNOTE_PHYS32_ENTRY
1:	.asciz	"Xen"
2:	.balign 4
3:	.long	pvh_start - KERNEL_BASE
4:	.balign 4
	.popsection
