"""XL3xx: the classic PV boot path (libelf's address checks, the toolstack and dom0 builders)."""
