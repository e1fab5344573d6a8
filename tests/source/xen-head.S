/*
 * A boot stub with its notes written the way Xen's own xen/arch/x86/boot/head.S writes its
 * PVH entry: the 3-argument ELFNOTE from a header and sym_offs(), which subtracts the
 * hypervisor's virtual base. (Written for xenlint's tests, not copied.)
 */
#include <xen/elfnote.h>
#include <elfnote3.h>

#define __XEN_VIRT_START	0xffffffff80000000
#define sym_offs(sym)		((sym) - __XEN_VIRT_START)

	.text
	.globl	xen_start
xen_start:
	hlt
	jmp	xen_start
	.code32
__pvh_start:
	hlt
	jmp	__pvh_start

	ELFNOTE(Xen, XEN_ELFNOTE_GUEST_OS, .asciz "linux")
	ELFNOTE(Xen, XEN_ELFNOTE_XEN_VERSION, .asciz "xen-3.0")
	ELFNOTE(Xen, XEN_ELFNOTE_LOADER, .asciz "generic")
	ELFNOTE(Xen, XEN_ELFNOTE_FEATURES, .asciz "!writable_page_tables")
	ELFNOTE(Xen, XEN_ELFNOTE_PHYS32_ENTRY, .long sym_offs(__pvh_start))
