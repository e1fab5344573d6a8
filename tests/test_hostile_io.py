"""Hostile files, configs, command lines and output streams: each ends in findings or one
error line with exit status 2, never a traceback, a hang or a silent pass. FIFOs are real
FIFOs (a read would wait forever), stdout is really /dev/full or closed."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from kernels import EXAMPLES

CLEAN = EXAMPLES / "linux-pv-pvh.elf"


def xenlint(
    args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None, **kw: object
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        ["xenlint", *args],
        capture_output=True,
        text=True,
        errors="backslashreplace",
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=60,  # a hang fails the test instead of the suite
        check=False,
        **kw,  # type: ignore[arg-type]
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def one_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit 2 and exactly one 'xenlint: error:' line on stderr containing every needle."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("xenlint: error: "), proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# --- selection, paths and '--' (issue 16) ---------------------------------------------------


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--select", ""], ["--select ''", "no rule"]),
        (["--select", ","], ["--select ''"]),
        (["--select", "XL4", "--ignore", "XL4"], ["--select 'XL4'", "--ignore 'XL4'"]),
        (["--ignore", "XL"], ["--ignore 'XL'", "no rule"]),
    ],
)
def test_empty_selection_is_a_usage_error(args: list[str], needles: list[str]) -> None:
    one_error(xenlint(["--isolated", *args, str(CLEAN)]), *needles)


def test_empty_selection_in_config(tmp_path: Path) -> None:
    (tmp_path / "xenlint.toml").write_text("select = []\n")
    one_error(xenlint([str(CLEAN)], cwd=tmp_path), "select in ", "xenlint.toml ''")


def test_empty_path_is_an_error(tmp_path: Path) -> None:
    one_error(xenlint(["--isolated", ""], cwd=tmp_path), "empty PATH")
    one_error(xenlint(["--isolated", str(CLEAN), ""], cwd=tmp_path), "empty PATH")


def test_double_dash_ends_options(tmp_path: Path) -> None:
    proc = xenlint(["--isolated", "--", "--version"], cwd=tmp_path)
    assert proc.returncode == 2 and "xenlint 0" not in proc.stdout
    assert "--version: error: XL000" in proc.stdout
    shutil.copy(CLEAN, tmp_path / "--exit-zero")
    proc = xenlint(["--isolated", "-q", "--target", "xen-4.19", "--", "--exit-zero"], cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout == "", proc.stdout


# --- configs -------------------------------------------------------------------------------


def test_config_dev_null_is_an_empty_config() -> None:
    assert (
        xenlint(["--config", os.devnull, "-q", "--target", "xen-4.19", str(CLEAN)]).returncode == 0
    )


@pytest.mark.parametrize(
    ("make", "needles"),
    [
        (lambda d: d / "missing.toml", ["missing.toml", "not found"]),
        (lambda d: d, ["is a directory"]),
        (lambda d: _fifo(d / "fifo.toml"), ["not a regular file"]),
    ],
    ids=["missing", "directory", "fifo"],
)
def test_config_that_cannot_be_read(tmp_path: Path, make, needles: list[str]) -> None:  # type: ignore[no-untyped-def]
    path = make(tmp_path)
    one_error(xenlint(["--config", str(path), str(CLEAN)]), *needles)
    one_error(xenlint([str(CLEAN)], env={"XENLINT_CONFIG": str(path)}), *needles)


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


@pytest.mark.parametrize(
    ("name", "text", "needles"),
    [
        ("xenlint.toml", "tool = 1\n", ["'tool' must be a table"]),
        ("xenlint.toml", "[tool]\nxenlint = 'x'\n", ["'tool.xenlint' must be a table"]),
        ("pyproject.toml", "tool = 'xenlint'\n", ["'tool' must be a table"]),
        ("pyproject.toml", "[tool]\nxenlint = [1]\n", ["'tool.xenlint' must be a table"]),
        ("xenlint.toml", b"select = ['XL4\xff']\n", ["not UTF-8", "0xff"]),
        ("xenlint.toml", "max-decompressed-size = 'inf'\n", ["max-decompressed-size", "'inf'"]),
        ("xenlint.toml", "max-decompressed-size = '1e400'\n", ["max-decompressed-size"]),
        ("xenlint.toml", "max-decompressed-size = 'nan'\n", ["max-decompressed-size"]),
    ],
)
def test_config_shapes(tmp_path: Path, name: str, text: str | bytes, needles: list[str]) -> None:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    found = xenlint([str(CLEAN)], cwd=tmp_path)
    if text == "tool = 'xenlint'\n":
        # a pyproject.toml without a [tool.xenlint] table is no xenlint config: not taken
        assert found.returncode == 0, found.stderr
    else:
        one_error(found, str(path), *needles)
    one_error(xenlint(["--config", str(path), str(CLEAN)]), *needles)


@pytest.mark.parametrize("size", ["inf", "1e400", "-inf", "nan", ""])
def test_max_decompressed_size_on_the_command_line(size: str) -> None:
    one_error(
        xenlint(["--isolated", "--max-decompressed-size", size, str(CLEAN)]),
        "--max-decompressed-size",
    )


# --- images and directories ----------------------------------------------------------------


def test_fifo_image_is_unreadable_at_once(tmp_path: Path) -> None:
    fifo = _fifo(tmp_path / "vmlinux")
    proc = xenlint(["--isolated", str(fifo), str(CLEAN)])
    assert proc.returncode == 2
    assert f"{fifo}: error: XL000 image-unreadable: not a regular file (a FIFO)" in proc.stdout
    for command in (["notes"], ["matrix"]):
        proc = xenlint([*command, "--isolated", str(fifo)])
        one_error(proc, "not a regular file")
    # --skip-non-elf passes over it (a FIFO is no image) without opening it
    assert xenlint(["--isolated", "--skip-non-elf", "-q", str(fifo)]).returncode == 0


def test_unreadable_entries_of_a_directory_are_reported(tmp_path: Path) -> None:
    shutil.copy(CLEAN, tmp_path / "good.elf")
    (tmp_path / "dangling.elf").symlink_to(tmp_path / "nowhere")
    (tmp_path / "loop.elf").symlink_to(tmp_path / "loop.elf")
    _fifo(tmp_path / "fifo")
    (tmp_path / "text.txt").write_text("not a kernel\n")
    proc = xenlint(["--isolated", "--target", "xen-4.19", str(tmp_path)])
    assert proc.returncode == 2, proc.stdout
    lines = proc.stdout.splitlines()
    assert (
        f"{tmp_path}/dangling.elf: error: XL000 image-unreadable: No such file or directory"
        in lines
    )
    assert (
        f"{tmp_path}/loop.elf: error: XL000 image-unreadable: Too many levels of symbolic links"
        in lines
    )
    assert not any("good.elf" in line or "fifo" in line or "text.txt" in line for line in lines)
    # a named unreadable file is no 'non-ELF' to skip silently
    proc = xenlint(["--isolated", "--skip-non-elf", str(tmp_path / "dangling.elf")])
    assert proc.returncode == 2 and "XL000" in proc.stdout


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files without permission")
def test_directory_without_permission_is_reported(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    shutil.copy(CLEAN, locked / "k.elf")
    locked.chmod(0)
    try:
        proc = xenlint(["--isolated", str(tmp_path)])
    finally:
        locked.chmod(0o755)
    assert proc.returncode == 2 and "Permission denied" in proc.stdout


# --- output ------------------------------------------------------------------------------


def test_output_file_never_overwrites_an_input(tmp_path: Path) -> None:
    image = tmp_path / "k.elf"
    shutil.copy(CLEAN, image)
    before = image.read_bytes()
    one_error(xenlint(["--isolated", "--format", "json", "-o", str(image), str(image)]), "input")
    alias = tmp_path / "alias.json"
    alias.symlink_to(image)
    one_error(xenlint(["--isolated", "-o", str(alias), str(image)]), "input")  # another name
    other = tmp_path / "other.elf"
    shutil.copy(CLEAN, other)
    one_error(xenlint(["--isolated", "-o", str(other), str(CLEAN)]), "binary file")
    assert image.read_bytes() == before and other.read_bytes() == before
    report = tmp_path / "report.json"
    report.write_text('{\n  "version": 1,\n  "findings": [],\n  "errors": []\n}\n')
    proc = xenlint(["--isolated", "--format", "json", "-o", str(report), "--exit-zero", str(CLEAN)])
    assert proc.returncode == 0 and '"findings"' in report.read_text()


def test_stdout_full() -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            ["xenlint", "--isolated", "--exit-zero", str(EXAMPLES)],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "xenlint: error: cannot write the output: No space left on device"
    ]


def test_stdout_closed() -> None:
    proc = subprocess.run(
        ["sh", "-c", f"xenlint --isolated {EXAMPLES} >&-"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith("xenlint: error:")


def test_strict_ascii_stdout(tmp_path: Path) -> None:
    name = tmp_path / os.fsdecode(b"k\xff\xe9.elf")
    shutil.copy(EXAMPLES / "freebsd-features.elf", name)
    for fmt in ("text", "json", "sarif", "github"):
        proc = xenlint(
            # --target xen: the old releases that refuse this kernel's FEATURES (the default
            # targets judge a PVH-only kernel only where PVH boots, where it is clean)
            ["--isolated", "--target", "xen", "--format", fmt, "--exit-zero", str(name)],
            env={"PYTHONIOENCODING": "ascii:strict"},
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip()


# Every output xenlint writes with -o, by command line (the image and file are appended).
_OUTPUTS = [
    *[
        ["--format", fmt, "--exit-zero"]
        for fmt in ("text", "full", "json", "sarif", "sarif-github", "github", "gitlab", "junit")
    ],
    ["notes"],
    ["notes", "--format", "json"],
    ["matrix"],
]
_LISTINGS = [
    ["rules"],
    ["rules", "--format", "json"],
    ["targets"],
    ["targets", "--format", "json"],
    ["explain", "XL201"],
]


@pytest.mark.parametrize("image", [CLEAN, EXAMPLES / "pvh-virtual-entry.elf"], ids=["clean", "bad"])
@pytest.mark.parametrize("args", _OUTPUTS + _LISTINGS, ids=" ".join)
def test_output_file_replaces_an_earlier_report(
    tmp_path: Path, args: list[str], image: Path
) -> None:
    """CI and make write the same -o file on every run: what xenlint wrote is replaced."""
    out = tmp_path / "out"
    operands = [] if args in _LISTINGS else [str(image)]
    for _ in range(2):
        proc = xenlint(["--isolated", *args, "-o", str(out), *operands])
        assert proc.returncode in (0, 1) and "error" not in proc.stderr.split(":")[1:2], proc.stderr
        assert out.exists()


@pytest.mark.parametrize(
    "name, text",
    [
        ("Makefile", "vmlinux: FORCE\n\txenlint --stderr $@\n"),
        ("pvh.c", "#include <xen/elfnote.h>\nint main(void) { return 0; }\n"),
        ("package.json", '{\n  "name": "kernel-tools",\n  "version": "1.0.0"\n}\n'),
        ("README.md", "# Notes\n\nRun xenlint on vmlinux before booting it under QEMU.\n"),
        ("results.csv", "path,code\nvmlinux,XL\n"),
    ],
)
def test_output_file_never_overwrites_other_files(tmp_path: Path, name: str, text: str) -> None:
    """-o onto an existing file that is no xenlint output: one error line, the file intact."""
    target = tmp_path / name
    target.write_text(text)
    one_error(xenlint(["--isolated", "--format", "json", "-o", str(target), str(CLEAN)]), name)
    assert target.read_text() == text
