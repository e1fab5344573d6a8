# The note set FreeBSD proposed for PVH in June 2015 (xen-devel, "Boot ABI for HVM guests
# without a device-model"): hvm_callback_vector sits in the FEATURES string, so Xen 4.0 and
# 4.1 refuse the kernel and 4.2/4.3 silently drop the feature. It belongs in the
# SUPPORTED_FEATURES bitmap.
	.include "xen-notes.inc"
	.include "pvh-exit.inc"

	.text
	.globl xen_start32
xen_start32:
	pvh_exit_entry

	xen_note XEN_ELFNOTE_GUEST_OS, .asciz, "FreeBSD"
	xen_note XEN_ELFNOTE_GUEST_VERSION, .asciz, "1100000"
	xen_note XEN_ELFNOTE_XEN_VERSION, .asciz, "xen-3.0"
	xen_note XEN_ELFNOTE_LOADER, .asciz, "generic"
	xen_note XEN_ELFNOTE_FEATURES, .asciz, "writable_descriptor_tables|auto_translated_physmap|supervisor_mode_kernel|hvm_callback_vector"
	xen_note XEN_ELFNOTE_PHYS32_ENTRY, .long, xen_start32
