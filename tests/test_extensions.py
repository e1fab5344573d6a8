"""The extension hooks, each exercised by a real third-party distribution built and
pip-installed for the test (issue 9): an output format, an image format, plugin options.

The options plugin is the README's worked example (examples/plugin/), installed as is.
"""

from __future__ import annotations

import json
import lzma
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT, freebsd_notes
from elfbuilder import Note, xen_kernel
from test_plugins import PIP_INSTALL, make_dist

TAP = """
from xenlint.api import OutputFormat, Run, hookimpl


def render(run: Run) -> str:
    lines = ["TAP version 13", f"1..{len(run.findings)}"]
    for i, f in enumerate(run.findings, 1):
        lines.append(f"not ok {i} - {f.path} {f.code} {f.severity} [{run.label(f)}]")
    return "\\n".join(lines) + "\\n"


@hookimpl
def xenlint_output_formats():
    return [OutputFormat("tap", "Test Anything Protocol", render)]
"""

XZ = """
import lzma
import os
import tempfile

from xenlint.api import ImageError, ImageFormat, hookimpl, load_image, replace

MAGIC = b"\\xfd7zXZ\\x00"


def load(path, max_decompressed):
    try:
        with lzma.open(path) as fh:
            data = fh.read(max_decompressed + 1)
    except (OSError, lzma.LZMAError) as exc:
        raise ImageError(f"corrupt xz data: {exc}") from None
    if len(data) > max_decompressed:
        raise ImageError(f"xz data expands past the {max_decompressed}-byte limit")
    fd, name = tempfile.mkstemp()
    try:
        os.write(fd, data)
        os.close(fd)
        image = load_image(name)
    finally:
        os.unlink(name)
    return replace(image, path=path, origin="xz", format="elf.xz")


@hookimpl
def xenlint_image_formats():
    sniff = lambda head: head.startswith(MAGIC)  # noqa: E731
    return [ImageFormat("elf.xz", "an xz-compressed ELF", sniff, load)]
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Install the three plugin distributions, for real, into a private path."""
    root = tmp_path_factory.mktemp("extensions")
    target = root / "site"
    for dist in (
        make_dist(root, "xenlint-tap", "xenlint_tap", TAP, "tap"),
        make_dist(root, "xenlint-xz", "xenlint_xz", XZ, "xz"),
        ROOT / "examples" / "plugin",
    ):
        proc = subprocess.run(
            [*PIP_INSTALL, "--target", str(target), str(dist)], capture_output=True, text=True
        )
        if proc.returncode != 0:
            pytest.fail(f"pip install of {dist.name} failed: {proc.stderr[-2000:]}")
    return target


def xenlint(site: Path | None, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("XENLINT_CONFIG", None)
    if site is not None:
        env["PYTHONPATH"] = str(site)
    return subprocess.run(
        [sys.executable, "-m", "xenlint", *args], capture_output=True, text=True, env=env, cwd=cwd
    )


@pytest.fixture
def kernel(tmp_path: Path) -> Path:
    path = tmp_path / "k.elf"
    path.write_bytes(xen_kernel(freebsd_notes()))
    return path


def test_output_format_from_a_plugin(site: Path, kernel: Path, tmp_path: Path) -> None:
    proc = xenlint(
        site, "--isolated", "--target=xen-4.0", "--select=XL", "--format=tap", "k.elf", cwd=tmp_path
    )
    lines = proc.stdout.splitlines()
    assert lines[0] == "TAP version 13"
    count = int(lines[1].split("..")[1])
    assert count == len(lines) - 2 > 0
    assert "not ok 1 - k.elf XL" in lines[2] and "[xen-4.0; pvh]" in proc.stdout
    # Without the plugin the name is refused like any unknown format.
    bare = xenlint(None, "--isolated", "--format", "tap", "k.elf", cwd=tmp_path)
    assert bare.returncode == 2 and "invalid choice: 'tap'" in bare.stderr


def test_image_format_from_a_plugin(site: Path, kernel: Path, tmp_path: Path) -> None:
    packed = tmp_path / "k.elf.xz"
    packed.write_bytes(lzma.compress(kernel.read_bytes()))  # the .xz container format
    args = ("--isolated", "--target", "xen-4.0", "--format", "json")
    plain = json.loads(xenlint(site, *args, "k.elf", cwd=tmp_path).stdout)["findings"]
    proc = xenlint(site, *args, "k.elf.xz", cwd=tmp_path)
    wrapped = json.loads(proc.stdout)["findings"]
    assert [(f["code"], f["message"]) for f in wrapped] == [
        (f["code"], f["message"]) for f in plain
    ]
    assert {f["path"] for f in wrapped} == {"k.elf.xz"}
    notes = xenlint(site, "--isolated", "notes", "k.elf.xz", cwd=tmp_path)
    assert notes.stdout.startswith("k.elf.xz (xz): ELF64")
    # Without the plugin, xz is no format xenlint reads.
    bare = xenlint(None, *args, "k.elf.xz", cwd=tmp_path)
    assert bare.returncode == 2 and json.loads(bare.stdout)["findings"][0]["code"] == "XL000"


def test_directory_scan_judges_a_plugin_format_image(
    site: Path, kernel: Path, tmp_path: Path
) -> None:
    """A directory scan takes what any registered image format recognises, probed once
    through the same formats the loader uses (it used to probe again with the built-in
    formats only, and skipped the plugin's images)."""
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "k.elf.xz").write_bytes(lzma.compress(kernel.read_bytes()))
    (tree / "notes.txt").write_text("not an image\n")
    args = ("--isolated", "--target", "xen-4.0", "--format", "json")
    plain = json.loads(xenlint(site, *args, "k.elf", cwd=tmp_path).stdout)["findings"]
    proc = xenlint(site, "-v", *args, "tree", cwd=tmp_path)
    assert "skipped" not in proc.stderr, proc.stderr
    scanned = json.loads(proc.stdout)["findings"]
    assert plain and [(f["code"], f["message"]) for f in scanned] == [
        (f["code"], f["message"]) for f in plain
    ]
    assert {f["path"] for f in scanned} == {os.path.join("tree", "k.elf.xz")}


def _project(tmp_path: Path, table: str) -> None:
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.xenlint]\ntargets = ["xen-4.17"]\n\n{textwrap.dedent(table)}'
    )


def test_plugin_options_are_read_validated_and_scoped(site: Path, tmp_path: Path) -> None:
    (tmp_path / "k.elf").write_bytes(xen_kernel([Note(6, b"FreeBSD\0"), *freebsd_notes()[1:]]))
    _project(tmp_path, "")
    default = xenlint(site, "--select", "XA", "k.elf", cwd=tmp_path)
    assert "XA101 guest-os-allowed: GUEST_OS 'FreeBSD' is not in ['linux']" in default.stdout
    _project(tmp_path, '[tool.xenlint.plugins.allowlist]\nguest-os = ["FreeBSD"]\n')
    allowed = xenlint(site, "--select", "XA", "k.elf", cwd=tmp_path)
    assert (allowed.returncode, allowed.stdout) == (0, "")
    # --isolated ignores the project's table; --config reads another file.
    isolated = xenlint(
        site, "--isolated", "--target", "xen-4.17", "--select", "XA", "k.elf", cwd=tmp_path
    )
    assert "XA101" in isolated.stdout
    other = tmp_path / "other.toml"
    other.write_text('targets = ["xen-4.17"]\n[plugins.allowlist]\nguest-os = ["NetBSD"]\n')
    config = xenlint(site, "--config", str(other), "--select", "XA", "k.elf", cwd=tmp_path)
    assert "not in ['NetBSD']" in config.stdout


@pytest.mark.parametrize(
    ("table", "error"),
    [
        (
            '[tool.xenlint.plugins.allowlist]\nguest_os = ["x"]\n',
            "plugins.allowlist: unknown option 'guest_os' (did you mean 'guest-os'?)",
        ),
        (
            '[tool.xenlint.plugins.allowlist]\nguest-os = "linux"\n',
            "plugins.allowlist.guest-os: expected list[str], got 'linux'",
        ),
        (
            "[tool.xenlint.plugins.allowlst]\nguest-os = []\n",
            "plugins.allowlst: no loaded plugin named 'allowlst' declares options",
        ),
    ],
)
def test_bad_plugin_options_are_one_line_errors(
    site: Path, tmp_path: Path, table: str, error: str
) -> None:
    (tmp_path / "k.elf").write_bytes(xen_kernel(freebsd_notes()))
    _project(tmp_path, table)
    proc = xenlint(site, "k.elf", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"xenlint: error: {tmp_path / 'pyproject.toml'}: plugins.")
    assert error in line


def _readme_block(after: str, language: str) -> str:
    """The first ```language block after the line containing `after` in README.md."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index(after)
    match = re.compile(rf"```{language}\n(.*?)```", re.S).search(readme, start)
    assert match, (after, language)
    return match.group(1)


def test_readme_plugin_and_api_samples_are_the_tested_files() -> None:
    plugin = ROOT / "examples" / "plugin"
    assert (
        _readme_block("### Writing a plugin", "python")
        == (plugin / "xenlint_guest_os_allowlist.py").read_text()
    )
    assert _readme_block("### Writing a plugin", "toml") == (plugin / "pyproject.toml").read_text()
    assert (
        _readme_block("### Python API", "python")
        == (ROOT / "examples" / "api_check.py").read_text()
    )


def test_readme_api_sample_output(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "examples/api_check.py"], capture_output=True, text=True, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    sample = _readme_block("### Python API", "console")
    assert sample == "$ python examples/api_check.py\n" + proc.stdout


def test_api_check_matches_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    from conftest import run

    from xenlint.api import XenlintError, check

    kernel = str(ROOT / "examples" / "freebsd-features.elf")
    findings = check([kernel], targets=["xen>=4.0,<4.8"], modes=["pvh"])
    _, out, _ = run(
        ["--format", "json", "--target", "xen>=4.0,<4.8", "--mode", "pvh", kernel], capsys
    )
    assert [f.as_dict() for f in findings] == json.loads(out)["findings"]
    with pytest.raises(XenlintError, match=r"unknown target 'xen-9\.9'"):
        check([kernel], targets=["xen-9.9"])
    (unread,) = check([str(ROOT / "README.md")])
    assert unread.code == "XL000"
