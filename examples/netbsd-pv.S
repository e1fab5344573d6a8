# A NetBSD-like 32-bit PV kernel (the note set of NetBSD's i386 locore.S): p_paddr equals
# p_vaddr (0xc0100000), so PADDR_OFFSET = VIRT_BASE = KERNBASE; HV_START_LOW tells a 32-bit
# dom0 builder where the hypervisor hole may start; PAE with extended-cr3; BSD_SYMTAB.
	.include "xen-notes.inc"

	.set KERNBASE, 0xc0000000
	.set HYPERVISOR_VIRT_START, 0xf5800000

	.text
	.globl start
start:				# the PV entry; never run in these tests
	hlt
	jmp start

	.balign 4096
hypercall_page:
	.fill 4096, 1, 0xcc

	xen_note XEN_ELFNOTE_GUEST_OS, .asciz, "NetBSD"
	xen_note XEN_ELFNOTE_GUEST_VERSION, .asciz, "4.99"
	xen_note XEN_ELFNOTE_XEN_VERSION, .asciz, "xen-3.0"
	xen_note XEN_ELFNOTE_VIRT_BASE, .long, KERNBASE
	xen_note XEN_ELFNOTE_PADDR_OFFSET, .long, KERNBASE
	xen_note XEN_ELFNOTE_ENTRY, .long, start
	xen_note XEN_ELFNOTE_HYPERCALL_PAGE, .long, hypercall_page
	xen_note XEN_ELFNOTE_HV_START_LOW, .long, HYPERVISOR_VIRT_START
	xen_note XEN_ELFNOTE_FEATURES, .asciz, "writable_page_tables|pae_pgdir_above_4gb"
	xen_note XEN_ELFNOTE_PAE_MODE, .asciz, "yes"
	xen_note XEN_ELFNOTE_LOADER, .asciz, "generic"
	xen_note XEN_ELFNOTE_SUSPEND_CANCEL, .long, 1
	xen_note XEN_ELFNOTE_BSD_SYMTAB, .asciz, "yes"
