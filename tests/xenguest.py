"""Xen 4.17's own kernel parser, driven through ctypes: the ground truth for the Xen rules.

Debian's libxenguest 4.17 (package libxenmisc4.17) holds libelf and the domain builder exactly
as the toolstack runs them. `xc_interface_open` with XC_OPENFLAG_DUMMY needs no /dev/xen, so
`xc_dom_parse_image` (loader probe, `elf_xen_parse`, guest type, ABI compatibility, feature
check) runs here on any file. Nothing is compiled: the structs below mirror the 4.17 headers
(/usr/include/xenguest.h for `struct xc_dom_image`; Xen's xen/include/xen/libelf.h at
RELEASE-4.17.0 for `struct elf_binary` and `struct elf_dom_parms`, which Debian does not ship),
and `check_layout` proves the offsets against values the library itself writes.

`available()` says why the library cannot be used, or None.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

c_u8, c_u32, c_u64, c_size, c_ptr = (
    ctypes.c_uint8,
    ctypes.c_uint32,
    ctypes.c_uint64,
    ctypes.c_size_t,
    ctypes.c_void_p,
)

XENGUEST = "libxenguest.so.4.17"
XENCTRL = "libxenctrl.so.4.17"
TOOLLOG = "libxentoollog.so.1"

XC_OPENFLAG_DUMMY = 1
XTL_DEBUG = 1
UNSET_ADDR = (1 << 64) - 1
UNSET_ADDR32 = 0xFFFFFFFF
XC_DOM_PV_CONTAINER, XC_DOM_HVM_CONTAINER = 0, 1
XC_DOM_DECOMPRESS_MAX = 1 << 30  # xenguest.h
SIF_VIRT_P2M_4TOOLS = 1 << 4  # xen/xen.h

# What an x86 Xen 4.17 hypervisor reports for XENVER_capabilities (RELEASE-4.17.0:
# xen/arch/x86/setup.c arch_get_xen_caps) with PV, 32-bit PV (CONFIG_PV32 / opt_pv32) and HVM.
CAPS_4_17 = "xen-3.0-x86_64 xen-3.0-x86_32p hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64"

# The loaders whose acceptance means "boots as a PV or PVH kernel"; "HVM-generic" (firmware
# without Xen notes) and "xen_bin" (multiboot-like header) are other ways into a domain.
KERNEL_LOADERS = ("ELF-generic", "Linux bzImage")


class XcDomSeg(ctypes.Structure):
    _fields_ = [("vstart", c_u64), ("vend", c_u64), ("pfn", c_u64), ("pages", c_u64)]


class XcDomModule(ctypes.Structure):
    _fields_ = [("blob", c_ptr), ("size", c_size), ("cmdline", c_ptr), ("seg", XcDomSeg)]


class XcDomImage(ctypes.Structure):
    """struct xc_dom_image (4.17 xenguest.h, x86_64) up to container_type."""

    _fields_ = [
        ("kernel_blob", c_ptr),
        ("kernel_size", c_size),
        ("num_modules", ctypes.c_uint),
        ("modules", XcDomModule * 2),  # XG_MAX_MODULES
        ("devicetree_blob", c_ptr),
        ("devicetree_size", c_size),
        ("max_kernel_size", c_size),
        ("max_module_size", c_size),
        ("max_devicetree_size", c_size),
        ("cmdline", c_ptr),
        ("cmdline_size", c_size),
        ("f_requested", c_u32 * 1),  # XENFEAT_NR_SUBMAPS
        ("parms", c_ptr),
        ("guest_type", ctypes.c_char_p),
        ("kernel_seg", XcDomSeg),
        ("p2m_seg", XcDomSeg),
        ("pgtables_seg", XcDomSeg),
        ("devicetree_seg", XcDomSeg),
        ("start_info_seg", XcDomSeg),
        ("start_info_pfn", c_u64),
        ("console_pfn", c_u64),
        ("xenstore_pfn", c_u64),
        ("shared_info_pfn", c_u64),
        ("bootstack_pfn", c_u64),
        ("pfn_alloc_end", c_u64),
        ("virt_alloc_end", c_u64),
        ("bsd_symtab_start", c_u64),
        ("initrd_start", c_u64),
        ("initrd_len", c_u64),
        ("alloc_bootstack", ctypes.c_uint),
        ("virt_pgtab_end", c_u64),
        ("f_active", c_u32 * 1),
        ("pv_p2m", c_ptr),
        ("p2m_size", c_u64),
        ("rambase_pfn", c_u64),
        ("total_pages", c_u64),
        ("phys_pages", c_ptr),
        ("memblocks", c_ptr),
        ("alloc_malloc", c_size),
        ("alloc_mem_map", c_size),
        ("alloc_file_map", c_size),
        ("alloc_domU_map", c_size),
        ("flags", ctypes.c_ulong),
        ("console_evtchn", ctypes.c_uint),
        ("xenstore_evtchn", ctypes.c_uint),
        ("console_domid", c_u32),
        ("xenstore_domid", c_u32),
        ("shared_info_mfn", c_u64),
        ("xch", c_ptr),
        ("guest_domid", c_u32),
        ("claim_enabled", ctypes.c_int),
        ("xen_version", ctypes.c_int),
        ("xen_caps", ctypes.c_char * 1024),  # xen_capabilities_info_t
        ("kernel_loader", c_ptr),  # struct xc_dom_loader *: its first field is the name
        ("private_loader", c_ptr),
        ("vmemranges", c_ptr),
        ("nr_vmemranges", ctypes.c_uint),
        ("vnode_to_pnode", c_ptr),
        ("nr_vnodes", ctypes.c_uint),
        ("arch_private", c_ptr),
        ("arch_hooks", c_ptr),
        ("allocate", c_ptr),
        ("container_type", ctypes.c_int),
    ]


class XenElfnote(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("name", c_ptr), ("data", c_u64)]


class ElfDomParms(ctypes.Structure):
    """struct elf_dom_parms (RELEASE-4.17.0 xen/include/xen/libelf.h)."""

    _fields_ = [
        ("guest_info", c_ptr),
        ("elf_note_start", c_ptr),
        ("elf_note_end", c_ptr),
        ("elf_notes", XenElfnote * 19),  # XEN_ELFNOTE_MAX (PHYS32_ENTRY, 18) + 1
        ("guest_os", ctypes.c_char * 16),
        ("guest_ver", ctypes.c_char * 16),
        ("xen_ver", ctypes.c_char * 16),
        ("loader", ctypes.c_char * 16),
        ("pae", ctypes.c_int),
        ("bsd_symtab", ctypes.c_bool),
        ("unmapped_initrd", ctypes.c_bool),
        ("virt_base", c_u64),
        ("virt_entry", c_u64),
        ("virt_hypercall", c_u64),
        ("virt_hv_start_low", c_u64),
        ("p2m_base", c_u64),
        ("elf_paddr_offset", c_u64),
        ("f_supported", c_u32 * 1),
        ("f_required", c_u32 * 1),
        ("phys_entry", c_u32),
        ("virt_kstart", c_u64),
        ("virt_kend", c_u64),
    ]


class ElfBinary(ctypes.Structure):
    """struct elf_binary (RELEASE-4.17.0 xen/include/xen/libelf.h, tools build)."""

    _fields_ = [
        ("image_base", c_ptr),
        ("size", c_size),
        ("elf_class", ctypes.c_char),
        ("data", ctypes.c_char),
        ("ehdr", c_ptr),  # ELF_HANDLE_DECL: a struct holding one elf_ptrval
        ("sec_strtab", c_ptr),
        ("sym_tab", c_ptr),
        ("sym_strtab", c_u64),
        ("dest_base", c_ptr),
        ("dest_size", c_size),
        ("pstart", c_u64),
        ("pend", c_u64),
        ("reloc_offset", c_u64),
        ("bsd_symtab_pstart", c_u64),
        ("bsd_symtab_pend", c_u64),
        ("xdest_base", c_ptr),
        ("xdest_size", c_u64),
        ("log_callback", c_ptr),
        ("log_caller_data", c_ptr),
        ("verbose", ctypes.c_bool),
        ("broken", ctypes.c_char_p),
    ]


@dataclass(frozen=True)
class Parse:
    """What libelf's elf_xen_parse made of an image."""

    rc: int
    log: str
    parms: ElfDomParms
    pstart: int
    pend: int


@dataclass(frozen=True)
class Build:
    """What xc_dom_parse_image made of an image in one container."""

    rc: int
    loader: str | None  # the loader that claimed the image
    guest_type: str | None
    log: str
    # Why xc_dom_alloc_segment refused the kernel segment ("segment boundary ..."), or None
    segment_error: str | None = None

    @property
    def parsed(self) -> bool:
        """Parsed by the ELF (or bzImage) kernel loader, not a firmware fallback."""
        return self.rc == 0 and self.loader in KERNEL_LOADERS

    @property
    def accepted(self) -> bool:
        """Parsed, and the kernel segment passes the allocator's boundary checks."""
        return self.parsed and self.segment_error is None

    @property
    def reason(self) -> str:
        """The last error line in the log: why the image was refused."""
        errors = [line for line in self.log.splitlines() if "error" in line.lower()]
        return errors[-1].strip() if errors else ""


def available() -> str | None:
    """None when libxenguest 4.17 can be loaded; else the reason it cannot."""
    try:
        _libs()
    except OSError as exc:
        return f"libxenguest 4.17 not loadable ({exc}); install libxenmisc4.17 and libxen-dev"
    return None


_LIBS: tuple[ctypes.CDLL, ctypes.CDLL, ctypes.CDLL, ctypes.CDLL] | None = None


def _libs() -> tuple[ctypes.CDLL, ctypes.CDLL, ctypes.CDLL, ctypes.CDLL]:
    global _LIBS
    if _LIBS is None:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        log, ctrl, guest = (ctypes.CDLL(n) for n in (TOOLLOG, XENCTRL, XENGUEST))
        libc.fopen.restype = c_ptr
        libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        libc.fflush.argtypes = [c_ptr]
        log.xtl_createlogger_stdiostream.restype = c_ptr
        log.xtl_createlogger_stdiostream.argtypes = [c_ptr, ctypes.c_int, ctypes.c_uint]
        ctrl.xc_interface_open.restype = c_ptr
        ctrl.xc_interface_open.argtypes = [c_ptr, c_ptr, ctypes.c_uint]
        guest.xc_dom_allocate.restype = ctypes.POINTER(XcDomImage)
        guest.xc_dom_allocate.argtypes = [c_ptr, ctypes.c_char_p, ctypes.c_char_p]
        guest.xc_dom_kernel_file.argtypes = [ctypes.POINTER(XcDomImage), ctypes.c_char_p]
        guest.xc_dom_parse_image.argtypes = [ctypes.POINTER(XcDomImage)]
        guest.xc_dom_release.argtypes = [ctypes.POINTER(XcDomImage)]
        guest.xc_dom_release.restype = None
        guest.elf_init.argtypes = [ctypes.POINTER(ElfBinary), ctypes.c_char_p, c_size]
        guest.elf_parse_binary.argtypes = [ctypes.POINTER(ElfBinary)]
        guest.elf_parse_binary.restype = None
        guest.elf_xen_parse.argtypes = [
            ctypes.POINTER(ElfBinary),
            ctypes.POINTER(ElfDomParms),
            ctypes.c_bool,
        ]
        guest.xc_elf_set_logfile.argtypes = [c_ptr, ctypes.POINTER(ElfBinary), ctypes.c_int]
        guest.xc_elf_set_logfile.restype = None
        guest.xc_dom_set_arch_hooks.argtypes = [ctypes.POINTER(XcDomImage)]
        guest.xc_dom_alloc_segment.argtypes = [
            ctypes.POINTER(XcDomImage),
            ctypes.POINTER(XcDomSeg),
            ctypes.c_char_p,
            c_u64,
            c_u64,
        ]
        _LIBS = (libc, log, ctrl, guest)
    return _LIBS


class Xen417:
    """One dummy xenctrl handle whose log (libxc and libelf messages) goes to a file."""

    def __init__(self, caps: str = CAPS_4_17) -> None:
        self.caps = caps
        self.libc, log, ctrl, self.guest = _libs()
        fd, name = tempfile.mkstemp(prefix="xen417-", suffix=".log")
        os.close(fd)
        self.log_path = Path(name)
        atexit.register(self.log_path.unlink, missing_ok=True)
        self.stream = self.libc.fopen(name.encode(), b"w")
        logger = log.xtl_createlogger_stdiostream(self.stream, XTL_DEBUG, 0)
        self.xch = ctrl.xc_interface_open(logger, logger, XC_OPENFLAG_DUMMY)
        if not self.xch:
            raise OSError("xc_interface_open(XC_OPENFLAG_DUMMY) failed")
        self._seen = 0

    def _log(self) -> str:
        self.libc.fflush(self.stream)
        data = self.log_path.read_bytes()
        text = data[self._seen :].decode("latin-1")
        self._seen = len(data)
        return text

    def elf_parse(self, data: bytes, hvm: bool) -> Parse:
        """elf_init, elf_parse_binary, elf_xen_parse(hvm), as the probes call them."""
        self._log()
        buf = ctypes.create_string_buffer(data, len(data))
        elf = ElfBinary()
        parms = ElfDomParms()
        if self.guest.elf_init(ctypes.byref(elf), buf, len(data)) != 0:
            return Parse(-1, self._log(), parms, 0, 0)
        self.guest.xc_elf_set_logfile(self.xch, ctypes.byref(elf), 1)
        self.guest.elf_parse_binary(ctypes.byref(elf))
        rc = self.guest.elf_xen_parse(ctypes.byref(elf), ctypes.byref(parms), hvm)
        assert elf.image_base == ctypes.addressof(buf) and elf.size == len(data), "elf_binary"
        return Parse(rc, self._log(), parms, elf.pstart, elf.pend)

    def build(self, path: Path, hvm: bool) -> Build:
        """xc_dom_allocate, xc_dom_kernel_file, xc_dom_parse_image in a PV or HVM container."""
        self._log()
        dom = self.guest.xc_dom_allocate(self.xch, None, None)
        try:
            image = dom.contents
            check_layout(image, self.xch)
            image.container_type = XC_DOM_HVM_CONTAINER if hvm else XC_DOM_PV_CONTAINER
            image.xen_caps = self.caps.encode()
            if self.guest.xc_dom_kernel_file(dom, str(path).encode()) != 0:
                return Build(-1, None, None, self._log())
            assert image.kernel_size == path.stat().st_size or image.kernel_blob, "kernel_size"
            rc = self.guest.xc_dom_parse_image(dom)
            loader = None
            if image.kernel_loader:
                name = ctypes.c_char_p.from_address(image.kernel_loader).value
                loader = name.decode() if name else None
            guest_type = image.guest_type.decode() if image.guest_type else None
            segment = None
            if rc == 0 and loader in KERNEL_LOADERS:
                segment = self._alloc_kernel_segment(dom)
            return Build(rc, loader, guest_type, self._log(), segment)
        finally:
            self.guest.xc_dom_release(dom)

    def _alloc_kernel_segment(self, dom: ctypes._Pointer[XcDomImage]) -> str | None:
        """The first step of xc_dom_build_image: allocate the kernel segment from VIRT_BASE.
        Its boundary checks (page alignment, not below VIRT_BASE) run before any memory is
        touched; past them, the dummy handle fails to map pages, which is not a refusal."""
        image = dom.contents
        if self.guest.xc_dom_set_arch_hooks(dom) != 0:
            return "no arch hooks for " + str(image.guest_type)
        parms = ElfDomParms.from_address(image.parms)
        image.virt_alloc_end = parms.virt_base
        image.total_pages = 1 << 40  # room for any padding: only the boundary checks matter
        seg = image.kernel_seg
        self._log()
        size = seg.vend - seg.vstart
        self.guest.xc_dom_alloc_segment(dom, ctypes.byref(seg), b"kernel", seg.vstart, size)
        found = [line for line in self._log().splitlines() if "segment boundary" in line]
        return found[0].strip() if found else None


def check_layout(image: XcDomImage, xch: int) -> None:
    """Fields xc_dom_allocate writes, read back at our offsets: a wrong layout fails here."""
    parms = ElfDomParms.from_address(image.parms)
    assert image.xch == xch, "xc_dom_image.xch offset"
    assert image.max_kernel_size == XC_DOM_DECOMPRESS_MAX, "xc_dom_image.max_kernel_size"
    assert image.max_devicetree_size == XC_DOM_DECOMPRESS_MAX, "max_devicetree_size"
    assert image.flags == SIF_VIRT_P2M_4TOOLS, "xc_dom_image.flags offset"
    assert image.container_type == XC_DOM_PV_CONTAINER and not image.allocate, "container_type"
    assert parms.virt_base == UNSET_ADDR and parms.p2m_base == UNSET_ADDR, "elf_dom_parms"
    assert parms.elf_paddr_offset == UNSET_ADDR, "elf_dom_parms.elf_paddr_offset offset"
