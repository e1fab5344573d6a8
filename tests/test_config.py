"""Configuration: discovery, keys, selection, severity and per-file ignores."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import freebsd_notes
from elfbuilder import Note, u32, xen_kernel

from xenlint.cli.main import main


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "kernel.elf").write_bytes(xen_kernel(freebsd_notes()))
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    monkeypatch.delenv("XENLINT_CONFIG", raising=False)
    return tmp_path


def lint(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict], str]:
    code = main(["--format", "json", *args])
    out, err = capsys.readouterr()
    findings = json.loads(out)["findings"] if out.strip().startswith("{") else []
    return code, findings, err


KERNEL = "../build/kernel.elf"


def test_pyproject_found_walking_up(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pyproject.toml").write_text(
        '[project]\nname = "k"\n\n[tool.xenlint]\ntargets = ["xen-4.0"]\nselect = ["XL402"]\n'
    )
    code, findings, _ = lint(capsys, KERNEL)
    assert code == 1
    assert {f["code"] for f in findings} == {"XL402"}
    assert findings[0]["targets"] == ["xen-4.0"]


def test_pyproject_without_table_is_skipped(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "sub" / "pyproject.toml").write_text('[project]\nname = "k"\n')
    (project / "xenlint.toml").write_text('targets = ["xen>=4.7"]\n')
    code, findings, _ = lint(capsys, KERNEL)
    assert code == 0
    assert all(f["severity"] != "error" for f in findings)


def test_cli_overrides_config(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "xenlint.toml").write_text('targets = ["xen>=4.7"]\n')
    code, findings, _ = lint(capsys, "--target", "xen-4.1", KERNEL)
    assert code == 1
    assert any(f["code"] == "XL402" and f["targets"] == ["xen-4.1.6"] for f in findings)


def test_isolated_ignores_config(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "xenlint.toml").write_text("bogus = 1\n")
    code, _, err = lint(capsys, "--isolated", "--target", "xen>=4.7", KERNEL)
    assert code == 0, err


def test_explicit_config(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = project / "other.toml"
    cfg.write_text('[tool.xenlint]\ntargets = ["xen-4.0"]\nignore = ["XL103"]\n')
    code, findings, _ = lint(capsys, "--config", str(cfg), KERNEL)
    assert code == 1 and "XL103" not in {f["code"] for f in findings}


def test_severity_override_and_names(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "xenlint.toml").write_text(
        'targets = ["xen-4.0"]\nselect = ["feature-needs-bitmap"]\n[severity]\nXL402 = "warning"\n'
    )
    code, findings, _ = lint(capsys, KERNEL)
    assert code == 0
    assert [(f["code"], f["severity"]) for f in findings] == [("XL402", "warning")]


def test_per_file_ignores(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "xenlint.toml").write_text(
        'targets = ["xen-4.0"]\n[per-file-ignores]\n"build/*.elf" = ["XL4", "XL103"]\n'
    )
    code, findings, _ = lint(capsys, KERNEL)
    assert code == 0 and findings == []


def test_modes_key(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "xenlint.toml").write_text('targets = ["xen-4.0"]\nmodes = ["pv"]\n')
    _, findings, _ = lint(capsys, KERNEL)
    assert findings and all(f["modes"] == ["pv"] for f in findings)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("tagets = []\n", "unknown key 'tagets' (did you mean 'targets'?)"),
        ('targets = ["xen-7"]\n', "unknown target 'xen-7'"),
        ('select = ["XL9"]\n', "unknown rule code or name 'XL9'"),
        ("select = 3\n", "'select' must be a string or a list of strings"),
        ('[severity]\nXL402 = "fatal"\n', "unknown severity 'fatal'"),
        ('modes = ["hvm"]\n', "unknown mode 'hvm'"),
        ("targets = [\n", "invalid TOML"),
    ],
)
def test_config_errors(
    project: Path, capsys: pytest.CaptureFixture[str], text: str, words: str
) -> None:
    (project / "xenlint.toml").write_text(text)
    code, _, err = lint(capsys, KERNEL)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("xenlint: error: "), err
    assert words in lines[0]
    assert "xenlint.toml" in lines[0]


def test_env_config(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = project / "env.toml"
    cfg.write_text('targets = ["xen-4.0"]\nselect = ["XL402"]\n')
    os.environ["XENLINT_CONFIG"] = str(cfg)
    try:
        code, findings, _ = lint(capsys, KERNEL)
    finally:
        del os.environ["XENLINT_CONFIG"]
    assert code == 1 and {f["code"] for f in findings} == {"XL402"}


def test_linux_like_note_set_clean_on_defaults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    notes = [
        Note(6, b"linux\0"),
        Note(7, b"2.6\0"),
        Note(5, b"xen-3.0\0"),
        Note(3, (0).to_bytes(8, "little")),
        Note(4, (0).to_bytes(8, "little")),
        Note(1, (0x100000).to_bytes(8, "little")),
        Note(2, (0x100000).to_bytes(8, "little")),
        Note(10, b"!writable_page_tables\0"),
        Note(17, u32(1 | 1 << 11)),
        Note(9, b"yes\0"),
        Note(8, b"generic\0"),
        Note(18, u32(0x100020)),
    ]
    path = tmp_path / "linux.elf"
    path.write_bytes(xen_kernel(notes, text_size=0x2000))
    code, findings, _ = lint(capsys, "--isolated", str(path))
    assert code == 0, [f for f in findings if f["severity"] == "error"]


def test_paths_key_names_images_relative_to_the_config(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "xenlint.toml").write_text('targets = ["xen-4.0"]\npaths = ["build/kernel.elf"]\n')
    code, findings, _ = lint(capsys)
    assert code == 1
    assert {f["path"] for f in findings} == {str(project / "build" / "kernel.elf")}
    (project / "xenlint.toml").write_text('paths = ["build/missing.elf"]\n')
    code, findings, _ = lint(capsys)
    assert code == 2 and findings[0]["code"] == "XL000"


@pytest.mark.parametrize(
    ("config", "args", "expect"),
    [
        # (config lines under [tool.xenlint], extra args, XL000 severity shown or None, exit)
        ("", [], ("error", 2)),
        # A selection chooses checks; an unread file was not checked, so XL000 stays on.
        ('select = ["XL402"]', [], ("error", 2)),
        ("", ["--select", "XL4"], ("error", 2)),
        ('ignore = ["XL000"]', [], (None, 0)),
        ("", ["--ignore", "image-unreadable"], (None, 0)),
        ("", ["--select", "XL4", "--ignore", "XL0"], (None, 0)),
        ('per-file-ignores = { "*.txt" = ["XL000"] }', [], (None, 0)),
        ('[tool.xenlint.severity]\nXL000 = "warning"', [], ("warning", 0)),
        ('[tool.xenlint.severity]\n"image-unreadable" = "info"', [], ("info", 0)),
    ],
)
def test_xl000_selection_and_severity_are_honoured(
    project: Path,
    config: str,
    args: list[str],
    expect: tuple[str | None, int],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 9: XL000 used to be fabricated by the core, ignoring `ignore` and `severity`."""
    (project / "pyproject.toml").write_text(
        f'[tool.xenlint]\ntargets = ["xen-4.7"]\n{config}\n'
        if not config.startswith("[")
        else f'[tool.xenlint]\ntargets = ["xen-4.7"]\n\n{config}\n'
    )
    (project / "sub" / "junk.txt").write_text("not a kernel\n")
    code, findings, _ = lint(capsys, *args, "junk.txt")
    severity, status = expect
    xl000 = [f["severity"] for f in findings if f["code"] == "XL000"]
    assert xl000 == ([severity] if severity else [])
    assert code == status
