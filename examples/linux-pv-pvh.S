# A clean Linux-like kernel that boots both as a classic PV guest and as a PVH guest:
# the PV notes give virtual addresses, PHYS32_ENTRY the physical address of a 32-bit entry,
# and hvm_callback_vector is not in FEATURES (the bitmap carries what the string may not).
	.include "xen-notes.inc"
	.include "pvh-exit.inc"

	.set VIRT_BASE, 0xffffffff80000000

	.text
	.globl startup_xen
startup_xen:			# the PV entry (64-bit, paging on); never run in these tests
	hlt
	jmp startup_xen

	.balign 16
pvh_start:			# the PVH entry (32-bit, physical)
	pvh_exit_entry

	.balign 4096
hypercall_page:
	.fill 4096, 1, 0xcc

	xen_note XEN_ELFNOTE_GUEST_OS, .asciz, "linux"
	xen_note XEN_ELFNOTE_GUEST_VERSION, .asciz, "2.6"
	xen_note XEN_ELFNOTE_XEN_VERSION, .asciz, "xen-3.0"
	xen_note XEN_ELFNOTE_VIRT_BASE, .quad, VIRT_BASE
	xen_note XEN_ELFNOTE_PADDR_OFFSET, .quad, 0
	xen_note XEN_ELFNOTE_ENTRY, .quad, startup_xen
	xen_note XEN_ELFNOTE_HYPERCALL_PAGE, .quad, hypercall_page
	xen_note XEN_ELFNOTE_FEATURES, .asciz, "!writable_page_tables"
	xen_note XEN_ELFNOTE_SUPPORTED_FEATURES, .long, (1 << 0) | (1 << 11)
	xen_note XEN_ELFNOTE_PAE_MODE, .asciz, "yes"
	xen_note XEN_ELFNOTE_LOADER, .asciz, "generic"
	xen_note XEN_ELFNOTE_L1_MFN_VALID, .quad, 1, 1	# mask, value: PTE present bit
	xen_note XEN_ELFNOTE_SUSPEND_CANCEL, .long, 1
	xen_note XEN_ELFNOTE_MOD_START_PFN, .long, 1
	xen_note XEN_ELFNOTE_PHYS32_ENTRY, .long, pvh_start - VIRT_BASE
