"""XL5xx: what the PVH loaders (QEMU, linux-loader, Firecracker, Cloud Hypervisor) read."""
