"""XL0xx: where the `Xen` notes are and whether they are well-formed."""
