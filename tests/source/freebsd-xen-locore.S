/*
 * A PV + PVH boot stub written the way FreeBSD's sys/amd64/amd64/xen-locore.S writes its
 * notes: the 4-argument ELFNOTE(name, type, desctype, descdata) of sys/x86/include/asmacros.h
 * and physical addresses as VTOP(symbol). (Written for xenlint's tests, not copied.)
 */
#include <xen/elfnote.h>

#define KERNBASE	0xffffffff80000000
#define VTOP(x)		((x) - KERNBASE)

#define ELFNOTE(name, type, desctype, descdata...)	\
.pushsection .note.name, "a", @note	;	\
	.align 4			;	\
	.long 2f - 1f			;	\
	.long 4f - 3f			;	\
	.long type			;	\
1:	.asciz #name			;	\
2:	.align 4			;	\
3:	desctype descdata		;	\
4:	.align 4			;	\
.popsection

	.text
	.code64
	.globl	xen_start
xen_start:
	hlt
	jmp	xen_start

	.code32
	.globl	xen_start32
xen_start32:
	hlt
	jmp	xen_start32

	ELFNOTE(Xen, XEN_ELFNOTE_GUEST_OS,       .asciz, "FreeBSD")
	ELFNOTE(Xen, XEN_ELFNOTE_GUEST_VERSION,  .asciz, "HEAD")
	ELFNOTE(Xen, XEN_ELFNOTE_XEN_VERSION,    .asciz, "xen-3.0")
	ELFNOTE(Xen, XEN_ELFNOTE_VIRT_BASE,      .quad,  KERNBASE)
	ELFNOTE(Xen, XEN_ELFNOTE_PADDR_OFFSET,   .quad,  0)
	ELFNOTE(Xen, XEN_ELFNOTE_ENTRY,          .quad,  xen_start)
	ELFNOTE(Xen, XEN_ELFNOTE_LOADER,         .asciz, "generic")
	ELFNOTE(Xen, XEN_ELFNOTE_FEATURES,       .asciz, "writable_descriptor_tables|auto_translated_physmap|supervisor_mode_kernel")
	ELFNOTE(Xen, XEN_ELFNOTE_SUPPORTED_FEATURES, .long, (1 << XENFEAT_hvm_callback_vector))
	ELFNOTE(Xen, XEN_ELFNOTE_BSD_SYMTAB,     .asciz, "yes")
	ELFNOTE(Xen, XEN_ELFNOTE_PHYS32_ENTRY,   .long,  VTOP(xen_start32))
