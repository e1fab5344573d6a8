# A 2006-era 32-bit XenLinux kernel that predates ELF notes: everything Xen needs is in the
# NAME=VALUE string of a non-loaded __xen_guest section. p_paddr equals p_vaddr, which is
# what ELF_PADDR_OFFSET = VIRT_BASE undoes; HYPERCALL_PAGE is a page number from VIRT_BASE.
	.text
	.globl startup_32
startup_32:			# the PV entry; never run in these tests
	hlt
	jmp startup_32

	.balign 4096
hypercall_page:			# page 0x101 above VIRT_BASE (linked at 0xc0101000)
	.fill 4096, 1, 0xcc

	.section __xen_guest
	.ascii "GUEST_OS=linux,GUEST_VER=2.6,XEN_VER=xen-3.0,VIRT_BASE=0xC0000000,"
	.ascii "ELF_PADDR_OFFSET=0xC0000000,HYPERCALL_PAGE=0x101,LOADER=generic,"
	.asciz "PAE=yes[extended-cr3],FEATURES=writable_page_tables|pae_pgdir_above_4gb"
