"""Replay: what a Xen release (libelf and its toolstack) or a PVH loader makes of an `Image`."""
