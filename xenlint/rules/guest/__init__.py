"""XL1xx: the notes a guest must carry for a target (GUEST_OS/LOADER, XEN_VERSION, PHYS32_ENTRY)."""
