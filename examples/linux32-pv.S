# A 32-bit Linux-like PV kernel (the i386 xen-head.S note set): linked at 0xc0100000, loaded
# at 1 MiB, VIRT_BASE = PAGE_OFFSET, PAE with extended-cr3, dom0-capable. No PVH entry.
	.include "xen-notes.inc"

	.set VIRT_BASE, 0xc0000000

	.text
	.globl startup_xen
startup_xen:			# the PV entry (32-bit, paging on); never run in these tests
	hlt
	jmp startup_xen

	.balign 4096
hypercall_page:
	.fill 4096, 1, 0xcc

	xen_note XEN_ELFNOTE_GUEST_OS, .asciz, "linux"
	xen_note XEN_ELFNOTE_GUEST_VERSION, .asciz, "2.6"
	xen_note XEN_ELFNOTE_XEN_VERSION, .asciz, "xen-3.0"
	xen_note XEN_ELFNOTE_VIRT_BASE, .long, VIRT_BASE
	xen_note XEN_ELFNOTE_PADDR_OFFSET, .long, 0
	xen_note XEN_ELFNOTE_ENTRY, .long, startup_xen
	xen_note XEN_ELFNOTE_HYPERCALL_PAGE, .long, hypercall_page
	xen_note XEN_ELFNOTE_FEATURES, .asciz, "!writable_page_tables|pae_pgdir_above_4gb"
	xen_note XEN_ELFNOTE_SUPPORTED_FEATURES, .long, (1 << 0) | (1 << 4) | (1 << 11)
	xen_note XEN_ELFNOTE_PAE_MODE, .asciz, "yes"
	xen_note XEN_ELFNOTE_LOADER, .asciz, "generic"
	xen_note XEN_ELFNOTE_SUSPEND_CANCEL, .long, 1
