"""XL5xx verdicts for the linux-loader based targets (Firecracker, Cloud Hypervisor) and the
loader target plumbing, on real as/ld kernels.

linux-loader cannot run here (crates.io is not reachable and Debian has no package), so these
check xenlint's replay of linux-loader's source (xenlint.replay.pvh, cited in xenlint.abi.loaders)
rather than the real loader; tests/test_loader_qemu.py holds QEMU to the real binary.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from conftest import Lint, cells, targets_of
from kernels import needs_binutils
from loader_kernels import BY_NAME, CODE, ENTRY64, GUEST_OS, Case
from wrapping import wrap

from xenlint.abi.loaders import LOADERS
from xenlint.cli.main import main
from xenlint.config.file import Config, ConfigError
from xenlint.config.settings import Overrides
from xenlint.config.settings import build as build_settings
from xenlint.engine.plugin import Registry
from xenlint.engine.targets import resolve

pytestmark = needs_binutils

LINUX_LOADERS = ["linux-loader", "firecracker>=1.12", "cloud-hypervisor"]
ALL_LOADERS = ["qemu", "qemu-i386", *LINUX_LOADERS]

# A Xen PHYS32_ENTRY note whose name is padded to 8 bytes: Xen takes it, linux-loader not.
XEN_NAMESZ_8 = """
    .pushsection .note.Xen, "a", @note
    .balign 4
    .long 8, 8, 18
    .ascii "Xen\\0\\0\\0\\0\\0"
    .quad _start
    .popsection
"""
# A PHYS32_ENTRY note with a 2-byte descriptor.
DESC_2 = """
    .pushsection .note.Xen, "a", @note
    .balign 4
    .long 4, 2, 18
    .asciz "Xen"
    .short 0x1000
    .balign 4
    .popsection
"""


def build(tmp_path: Path, name: str) -> Path:
    return BY_NAME[name].build(tmp_path)


def patch_entry(path: Path, entry: int) -> None:
    data = bytearray(path.read_bytes())
    struct.pack_into("<Q", data, 24, entry)
    path.write_bytes(bytes(data))


def errors_on(lint: Lint, elf: Path, targets: list[str], code: str) -> set[str]:
    return targets_of(lint(elf, targets=targets), code, "error")


def test_good_kernel_is_clean_on_every_loader(tmp_path: Path, lint: Lint) -> None:
    findings = lint(
        build(tmp_path, "good-elf64"), targets=[t for t in ALL_LOADERS if "i386" not in t]
    )
    assert [f for f in findings if str(f.severity) != "info"] == []


def test_later_note_segment_breaks_linux_loader_only(tmp_path: Path, lint: Lint) -> None:
    elf = build(tmp_path, "later-note-segment")
    hit = errors_on(lint, elf, [*LINUX_LOADERS, "qemu"], "XL504")
    assert hit == {p.name for p in LOADERS if p.engine == "linux-loader"}
    assert not errors_on(lint, elf, ["qemu"], "XL504")


def test_namesz_8_is_skipped_by_linux_loader_not_qemu(tmp_path: Path, lint: Lint) -> None:
    elf = Case("namesz8", XEN_NAMESZ_8).build(tmp_path)
    findings = lint(elf, targets=[*LINUX_LOADERS, "qemu"])
    assert targets_of(findings, "XL503", "error") == {
        p.name for p in LOADERS if p.engine == "linux-loader"
    }
    assert not [f for f in findings if "qemu-6.0" in f.targets and str(f.severity) == "error"]


def test_elf32_is_refused_by_linux_loader(tmp_path: Path, lint: Lint) -> None:
    elf = build(tmp_path, "good-elf32")
    assert errors_on(lint, elf, ["firecracker", "cloud-hypervisor"], "XL505") == {
        "firecracker-1.12",
        "cloud-hypervisor-16",
        "cloud-hypervisor-24",
        "cloud-hypervisor-28",
        "cloud-hypervisor-33",
        "cloud-hypervisor-39",
    }
    assert not errors_on(lint, elf, ["qemu"], "XL505")
    messages = [f.message for f in lint(elf, targets=["cloud-hypervisor-39"]) if f.code == "XL505"]
    assert messages and "retries the file as a bzImage" in messages[0]


def test_low_e_entry_for_firecracker_and_cloud_hypervisor(tmp_path: Path, lint: Lint) -> None:
    elf = build(tmp_path, "good-elf64")
    assert not errors_on(lint, elf, ["firecracker"], "XL506")
    patch_entry(elf, 0x1000)
    assert errors_on(lint, elf, ["firecracker", "cloud-hypervisor-39"], "XL506") == {
        "firecracker-1.12",
        "cloud-hypervisor-39",
    }
    # The library itself has no highmem start; QEMU does not look at e_entry for PVH.
    assert not errors_on(lint, elf, ["linux-loader", "qemu"], "XL506")


def test_short_descriptor_is_invalid_pvh_note(tmp_path: Path, lint: Lint) -> None:
    elf = Case("desc2", DESC_2).build(tmp_path)
    findings = lint(elf, targets=["firecracker", "qemu-6.0"])
    assert targets_of(findings, "XL509", "error") == {"firecracker-1.12", "qemu-6.0"}
    fc = [f for f in findings if f.code == "XL509" and f.targets == ("firecracker-1.12",)]
    assert "InvalidPvhNote" in fc[0].message


def test_p_align_walk_only_before_linux_loader_0_9(tmp_path: Path, lint: Lint) -> None:
    elf = build(tmp_path, "gnu-property-first")
    # Cloud Hypervisor v16-v27 carry linux-loader 0.3-0.6, whose parse_elf_note pads by
    # p_align as 0.8.1 does (rust-vmm/linux-loader v0.3.0 src/loader/x86_64/elf/mod.rs).
    assert errors_on(lint, elf, LINUX_LOADERS, "XL502") == {
        "linux-loader-0.2",
        "cloud-hypervisor-16",
        "cloud-hypervisor-24",
        "cloud-hypervisor-28",
    }


def test_p_align_0_is_align_error_for_old_linux_loader(tmp_path: Path, lint: Lint) -> None:
    findings = lint(build(tmp_path, "p-align-0"), targets=["linux-loader"])
    xl502 = [f for f in findings if f.code == "XL502"]
    assert [f.targets for f in xl502] == [("linux-loader-0.2",)]
    assert "Align" in xl502[0].message


def test_no_note_firecracker_falls_back_silently(tmp_path: Path, lint: Lint) -> None:
    findings = lint(build(tmp_path, "no-note"), targets=["firecracker", "cloud-hypervisor-39"])
    assert cells(findings, "XL510", "warning") == {("firecracker-1.12", "pvh")}
    assert cells(findings, "XL510", "error") == {("cloud-hypervisor-39", "pvh")}
    fc = [f for f in findings if f.code == "XL510" and str(f.severity) == "warning"]
    assert "64-bit Linux boot protocol" in fc[0].message


def test_section_only_note_for_every_loader(tmp_path: Path, lint: Lint) -> None:
    findings = lint(build(tmp_path, "section-only"), targets=["firecracker", "xen-4.19"])
    assert targets_of(findings, "XL501", "error") == {"firecracker-1.12"}


# --- targets and modes ---------------------------------------------------------------------


def test_loaders_are_not_default_targets(registry: Registry) -> None:
    settings = build_settings(Config(), Overrides(), registry)
    assert {p.family for p in settings.profiles} == {"xen"}


def test_named_mode_no_loader_boots_is_a_usage_error(
    registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(
        ConfigError, match="no target boots mode pv: the targeted loaders boot only pvh"
    ):
        build_settings(Config(), Overrides(targets=["qemu"], modes=["pv"]), registry)
    # With a Xen target beside the loader, pv is checked there: no error.
    both = build_settings(Config(), Overrides(targets=["qemu", "xen-4.17"], modes=["pv"]), registry)
    assert {p.name for p in both.profiles} == {"xen-4.17", "qemu-4.0", "qemu-6.0"}
    assert main(["--isolated", "--target", "firecracker", "--mode", "pv-dom0", "x.elf"]) == 2
    assert "no target boots mode pv-dom0" in capsys.readouterr().err


def test_loader_target_names(registry: Registry) -> None:
    names = lambda spec: [p.name for p in resolve([spec], registry.profiles)]  # noqa: E731
    assert names("qemu") == ["qemu-4.0", "qemu-6.0"]
    assert names("qemu-7.2") == ["qemu-6.0"]
    assert names("qemu-5.1") == ["qemu-4.0"]
    assert names("firecracker>=1.12") == ["firecracker-1.12"]
    assert names("cloud-hypervisor-45") == ["cloud-hypervisor-39"]
    assert names("linux-loader-0.8.1") == ["linux-loader-0.2"]
    # A range selects every profile standing for some version in it, not only those whose
    # first version is in it.
    assert names("qemu>=7.2") == ["qemu-6.0"]
    assert names("cloud-hypervisor>=30,<35") == ["cloud-hypervisor-28", "cloud-hypervisor-33"]
    assert names("linux-loader<0.9") == ["linux-loader-0.2"]


def test_loaders_judge_pvh_only(tmp_path: Path, lint: Lint) -> None:
    """A PV-only kernel is still judged as PVH on a loader (it cannot boot there)."""
    elf = Case("pv-only", GUEST_OS).build(tmp_path)
    findings = lint(elf, targets=["qemu-6.0", "xen-4.19"])
    assert cells(findings, "XL510", "error") == {("qemu-6.0", "pvh")}
    assert not lint(elf, targets=["qemu-6.0"], modes=["pv"])


def test_readme_matrix_sample_is_real(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every row of the README's loader matrix sample is a row of the real output."""
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    block = readme.split("$ xenlint matrix build/later-note-segment.elf", 1)[1].split("```", 1)[0]
    rows = [line.split() for line in block.splitlines()[3:] if line.strip() and "..." not in line]
    elf = build(tmp_path, "later-note-segment")
    assert main(["--isolated", "matrix", str(elf)]) == 0
    real = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert len(rows) > 10 and all(row in real for row in rows), [r for r in rows if r not in real]


def test_matrix_shows_loader_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    elf = build(tmp_path, "later-note-segment")
    assert main(["--isolated", "matrix", "--format", "json", str(elf)]) == 0
    table = json.loads(capsys.readouterr().out)[0]["cells"]
    by = {(c["target"], c["mode"]): c for c in table}
    assert by[("xen-4.22", "pvh")]["errors"] == []
    assert by[("qemu-6.0", "pvh")]["errors"] == []
    assert by[("firecracker-1.12", "pvh")]["errors"] == ["XL504"]
    assert by[("firecracker-1.12", "pv")]["applies"] is False
    assert main(["--isolated", "matrix", str(elf)]) == 0
    text = capsys.readouterr().out
    assert any(line.split()[:3] == ["firecracker-1.12", "-", "XL504"] for line in text.splitlines())
    main(["--isolated", "matrix", "--target", "xen-4.19", str(elf)])
    assert "qemu" not in capsys.readouterr().out


def test_targets_command_lists_loaders(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--isolated", "targets", "--target", "qemu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("* qemu-6.0") for line in lines)
    assert any(line.startswith("  firecracker-1.12") for line in lines)


def test_source_code_of_the_kernels_is_shared() -> None:
    assert "pvh_exit_entry" in CODE and "PHYS32_ENTRY" in ENTRY64


def test_config_names_loader_targets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    elf = build(tmp_path, "later-note-segment")
    config = tmp_path / "xenlint.toml"
    config.write_text('targets = ["xen>=4.19", "qemu-7.2", "firecracker"]\n')
    code = main(["--config", str(config), "--format", "json", str(elf)])
    found = json.loads(capsys.readouterr().out)["findings"]
    assert code == 1
    # Firecracker before 1.12 enters e_entry (this kernel's 32-bit PVH entry) in 64-bit mode.
    assert {(f["code"], tuple(f["targets"])) for f in found if f["severity"] == "error"} == {
        ("XL504", ("firecracker-1.12",)),
        ("XL514", ("firecracker-1.0", "firecracker-1.5")),
    }
    config.write_text('targets = ["qemu-3.1"]\n')
    assert main(["--config", str(config), str(elf)]) == 2
    assert "qemu-3.1" in capsys.readouterr().err


@needs_binutils
def test_xl513_wrapped_files_are_not_read_as_pvh_elf(tmp_path: Path, lint: Lint) -> None:
    elf = BY_NAME["good-elf64"].build(tmp_path).read_bytes()
    targets = ["qemu", "linux-loader", "firecracker", "cloud-hypervisor"]
    loaders = {p.name for p in resolve(targets, LOADERS)}
    boots = {"qemu-4.0", "qemu-6.0", "cloud-hypervisor-39"}  # Linux boot protocol
    bz = lint(wrap(tmp_path, elf, "gzip"), targets=targets)
    assert {f.code for f in bz} == {"XL513"}  # no PVH-note rule judges the inner ELF
    assert targets_of(bz, "XL513", "info") == boots
    assert targets_of(bz, "XL513", "error") == loaders - boots
    gz = lint(wrap(tmp_path, elf, "gzip", bz=False, name="k.gz"), targets=targets)
    assert targets_of(gz, "XL513", "error") == loaders
    assert any("bzImage retry" in f.message for f in gz)
    # The same ELF given bare: nothing to say but Firecracker < 1.12 entering its 32-bit PVH
    # entry in 64-bit mode (XL514), and Xen targets never get XL513.
    bare = lint(BY_NAME["good-elf64"].build(tmp_path), targets=targets)
    assert {(f.code, f.targets) for f in bare} == {
        ("XL514", ("firecracker-1.0", "firecracker-1.5"))
    }
    assert not [f for f in lint(wrap(tmp_path, elf, "gzip")) if f.code == "XL513"]
