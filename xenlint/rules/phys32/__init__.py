"""XL2xx: the PVH entry point (XEN_ELFNOTE_PHYS32_ENTRY) and its value."""
