"""Loader replay engines: one object per way a loader reads a kernel image.

A `LoaderProfile` (xenlint.abi.loaders) names its engine by `engine`; the engine replays that
loader's reading of an image into a `Reading` (xenlint.replay.pvh) that rules judge. Built-in
engines are registered through the `xenlint_loader_engines` hook exactly like a plugin's
(xenlint.rules.loader_targets), so a third-party distribution can add a loader (crosvm, say)
with a profile naming its own engine.
"""

from __future__ import annotations

from typing import ClassVar

from xenlint.abi import loaders as L
from xenlint.abi.loaders import LoaderProfile
from xenlint.image.model import Image
from xenlint.replay import pvh
from xenlint.replay.pvh import Reading


class LoaderEngine:
    """A replay of one family of loaders. Subclass, set `name`, implement `read`.

    - `name`: what `LoaderProfile.engine` says to pick this engine; unique across plugins.
    - `reads_pvh_note`: True when the loader boots the kernel through the Xen PHYS32_ENTRY
      note, so the PVH-note rules (XL501-XL512) judge its cells; False for loaders that boot
      some other way (GRUB's PV loader, multiboot, Firecracker before 1.12), whose verdict
      XL514 reports from `Reading.failure` and `consequence`.
    """

    name: ClassVar[str]
    reads_pvh_note: ClassVar[bool] = True

    def read(self, image: Image, loader: LoaderProfile) -> Reading:
        """Replay `loader` on `image`; never raises on a hostile image (a `Failure` instead)."""
        raise NotImplementedError

    def consequence(self, image: Image, reading: Reading) -> str:
        """What the loader does with `reading`, in words, quoting its own message."""
        loader, failure = reading.loader, reading.failure
        if failure is None:
            return f"{loader.program} starts the kernel at {reading.entry or 0:#x}"
        return f"{loader.program} refuses the kernel ({failure.message})"

    def wrapped_file(self, loader: LoaderProfile, fmt: str, kind: str) -> tuple[str, bool]:
        """(message, boots) for a file that is no plain ELF (`fmt` "bzimage" or "elf.gz",
        `kind` its description): whether this loader boots it, and how."""
        return (
            f"the file is {kind}: {loader.program} loads only an uncompressed ELF and fails "
            f"with {L.LINUX_LOADER_NOT_ELF}",
            False,
        )

    def __repr__(self) -> str:
        return f"<loader engine {self.name}>"


class QemuEngine(LoaderEngine):
    """QEMU `-kernel` with an ELF (x86_load_linux, load_elfboot, read_pvh_start_addr)."""

    name = "qemu"

    def read(self, image: Image, loader: LoaderProfile) -> Reading:
        return pvh.qemu(image, loader)

    def consequence(self, image: Image, reading: Reading) -> str:
        failure = reading.failure
        if failure is not None and failure.kind in ("align-crash", "align-high"):
            return failure.message
        if failure is not None:
            return f'{reading.loader.program} exits with "{failure.message}"'
        return super().consequence(image, reading)

    def wrapped_file(self, loader: LoaderProfile, fmt: str, kind: str) -> tuple[str, bool]:
        # x86_load_linux looks for "HdrS" at 0x202 before anything else (loaders.md §1.1).
        if fmt == "bzimage":
            return _linux_protocol(loader, kind), True
        return (
            f"the file is {kind}: {loader.program} does not decompress it, tries it as an old "
            f'zImage and exits with "{L.QEMU_NOT_KERNEL}"',
            False,
        )


class LinuxLoaderEngine(LoaderEngine):
    """rust-vmm linux-loader's Elf::load and the VMMs built on it (Firecracker 1.12+, Cloud
    Hypervisor), whose reaction to a missing entry is the profile's `absent`."""

    name = "linux-loader"

    def read(self, image: Image, loader: LoaderProfile) -> Reading:
        return pvh.linux_loader(image, loader)

    def consequence(self, image: Image, reading: Reading) -> str:
        loader, failure = reading.loader, reading.failure
        if failure is None:
            return super().consequence(image, reading)
        if failure.kind == "absent":
            if loader.absent == "linux-fallback":
                return (
                    f"{loader.program} finds no PVH entry and silently boots the kernel through "
                    f"the 64-bit Linux boot protocol at e_entry {image.entry:#x} instead"
                )
            if loader.absent_message:
                return f'{loader.program} fails with "{loader.absent_message}"'
            return f"{loader.program} returns {failure.message} (no PVH boot)"
        if loader.bzimage_retry:
            return (
                f"{loader.program}'s ELF load fails ({failure.message}); it retries the file as "
                "a bzImage and reports that error instead"
            )
        return f"{loader.program} refuses the kernel ({failure.message})"

    def wrapped_file(self, loader: LoaderProfile, fmt: str, kind: str) -> tuple[str, bool]:
        # Cloud Hypervisor v39+ retries a failed ELF load as a bzImage (09cf8c311, §4).
        if fmt == "bzimage" and loader.bzimage_retry:
            return _linux_protocol(loader, kind), True
        if loader.bzimage_retry:
            return (
                f"the file is {kind}: {loader.program} loads an uncompressed ELF or a bzImage "
                f"and this is neither: the ELF load fails ({L.LINUX_LOADER_NOT_ELF}) and it "
                "reports the error of its bzImage retry",
                False,
            )
        return super().wrapped_file(loader, fmt, kind)


class LinuxBootEngine(LinuxLoaderEngine):
    """Firecracker before 1.12: linux-loader's Elf::load (header checks and note walk, whose
    errors still fail the start) and then, whatever notes it found, the kernel entered at
    e_entry in 64-bit long mode with a Linux zero page (builder.rs load_kernel boots
    `kernel_load`)."""

    name = "linux-boot"
    reads_pvh_note = False

    def read(self, image: Image, loader: LoaderProfile) -> Reading:
        reading = pvh.linux_loader(image, loader)
        if reading.failure is not None and reading.failure.kind != "absent":
            return reading
        return pvh.Reading(
            loader, "linux64", reading.matches, reading.note, reading.raw, reading.width,
            image.entry, None,
        )  # fmt: skip

    def consequence(self, image: Image, reading: Reading) -> str:
        if reading.failure is None:
            return (
                f"{reading.loader.program} has no PVH boot: it enters e_entry "
                f"{image.entry:#x} in 64-bit long mode with Linux boot parameters"
            )
        return super().consequence(image, reading)


def _linux_protocol(loader: LoaderProfile, kind: str) -> str:
    return (
        f"the file is {kind}: {loader.program} boots it through the Linux boot protocol, "
        "not through its PVH entry, so the PVH checks for this target do not apply"
    )


def builtin() -> list[LoaderEngine]:
    """The engines xenlint ships, as its own plugin registers them."""
    from xenlint.replay.grub import GrubPvhEngine, GrubXenEngine

    return [QemuEngine(), LinuxLoaderEngine(), LinuxBootEngine(), GrubXenEngine(), GrubPvhEngine()]


_BUILTIN: dict[str, LoaderEngine] = {}


def _builtins() -> dict[str, LoaderEngine]:
    if not _BUILTIN:
        _BUILTIN.update((e.name, e) for e in builtin())
    return _BUILTIN


def builtin_engine(name: str) -> LoaderEngine:
    """The built-in engine called `name`; KeyError when there is none (a plugin's engine is
    found through the plugin registry instead)."""
    return _builtins()[name]


def is_builtin(engine: LoaderEngine) -> bool:
    """Whether `engine` is one of xenlint's own engines, by class (the plugin registry holds
    other instances of them)."""
    if not _BUILTIN_TYPES:  # asked per loader cell of every image: the classes, once
        _BUILTIN_TYPES.update(type(e) for e in _builtins().values())
    return type(engine) in _BUILTIN_TYPES


_BUILTIN_TYPES: set[type[LoaderEngine]] = set()
