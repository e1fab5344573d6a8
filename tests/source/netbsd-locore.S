/*
 * A PV + PVH boot stub with its notes written the way NetBSD's sys/arch/amd64/amd64/locore.S
 * writes them: the 4-argument ELFNOTE from a machine header and physical addresses as
 * RELOC(symbol). (Written for xenlint's tests, not copied.)
 */
#include <xen/elfnote.h>
#include <elfnote4.h>

#define KERNBASE	0xffffffff80000000
#define RELOC(x)	((x) - KERNBASE)

	.text
	.globl	xen_start
xen_start:
	hlt
	jmp	xen_start
	.code32
	.globl	start_pvh
start_pvh:
	hlt
	jmp	start_pvh

	ELFNOTE(Xen, XEN_ELFNOTE_GUEST_OS,	.asciz, "NetBSD")
	ELFNOTE(Xen, XEN_ELFNOTE_GUEST_VERSION,	.asciz, "10.0")
	ELFNOTE(Xen, XEN_ELFNOTE_XEN_VERSION,	.asciz, "xen-3.0")
	ELFNOTE(Xen, XEN_ELFNOTE_VIRT_BASE,	.quad,  KERNBASE)
	ELFNOTE(Xen, XEN_ELFNOTE_PADDR_OFFSET,	.quad,  0)
	ELFNOTE(Xen, XEN_ELFNOTE_ENTRY,		.quad,  xen_start)
	ELFNOTE(Xen, XEN_ELFNOTE_FEATURES,	.asciz, "writable_page_tables|pae_pgdir_above_4gb")
	ELFNOTE(Xen, XEN_ELFNOTE_LOADER,	.asciz, "generic")
	ELFNOTE(Xen, XEN_ELFNOTE_BSD_SYMTAB,	.asciz, "yes")
	ELFNOTE(Xen, XEN_ELFNOTE_PHYS32_ENTRY,	.long,  RELOC(start_pvh))
