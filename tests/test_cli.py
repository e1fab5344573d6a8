"""The command line as users and build systems see it: output lines, exit status, subcommands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FREEBSD_FEATURES, run


def test_seed_case_refused_by_xen_4_0(freebsd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--target", "xen-4.0", str(freebsd)], capsys)
    assert code == 1
    line = next(x for x in out.splitlines() if "XL402" in x)
    assert line.startswith(f"{freebsd}: error: XL402 feature-needs-bitmap: ")
    assert "hvm_callback_vector" in line and "[xen-4.0; pvh]" in line
    assert "FEATURES note in PT_NOTE segment" in line


def test_seed_case_dropped_on_xen_4_2(freebsd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--target", "xen-4.2", "--select", "XL4", str(freebsd)], capsys)
    assert code == 0
    assert f"{freebsd}: warning: XL402" in out
    assert "silently drops" in out


def test_seed_case_clean_from_xen_4_7(freebsd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--target", "xen>=4.7", str(freebsd)], capsys)
    assert code == 0, out
    assert ": error:" not in out


def test_json_output(freebsd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--format", "json", "--target", "xen>=4.0,<4.4", str(freebsd)], capsys)
    assert code == 1
    data = json.loads(out)
    f402 = [f for f in data["findings"] if f["code"] == "XL402"]
    assert {f["severity"] for f in f402} == {"error", "warning"}
    err = next(f for f in f402 if f["severity"] == "error")
    assert err["targets"] == ["xen-4.0", "xen-4.1.0", "xen-4.1.6"]
    assert err["modes"] == ["pvh"]
    assert err["name"] == "feature-needs-bitmap"
    assert "SUPPORTED_FEATURES" in err["fix"]
    assert err["location"]["note"] == "FEATURES"
    assert isinstance(err["location"]["offset"], int)


def test_unreadable_input_exit_2_but_others_checked(
    freebsd: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("not a kernel\n")
    code, out, _ = run(["--target", "xen-4.0", str(junk), str(freebsd)], capsys)
    assert code == 2
    assert f"{junk}: error: XL000 image-unreadable: not an ELF file" in out
    assert "XL402" in out  # the good file was still checked


def test_missing_file_is_xl000(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([str(tmp_path / "nope.elf")], capsys)
    assert code == 2
    assert "XL000" in out and "No such file" in out


def test_exit_zero(freebsd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--exit-zero", "--target", "xen-4.0", str(freebsd)], capsys)
    assert code == 0 and "error: XL402" in out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--target", "xen-9.9", "x"], "unknown target 'xen-9.9'"),
        (["--mode", "hvm", "x"], "unknown mode 'hvm'"),
        (["--select", "XL999", "x"], "unknown rule code or name 'XL999'"),
        (["--ignore", "feature-need-bitmap", "x"], "did you mean feature-needs-bitmap"),
        (["--format", "xml", "x"], "invalid choice"),
        ([], "no PATH given"),
        (["explain", "XL777"], "unknown rule 'XL777'"),
    ],
)
def test_usage_errors_are_one_line(
    args: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(args, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("xenlint: error: ") and words in lines[0]


def test_select_ignore_precedence(freebsd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(["--target", "xen-4.0", "--ignore", "XL4", str(freebsd)], capsys)
    assert "XL402" not in out and "XL103" in out
    _, out, _ = run(
        ["--target", "xen-4.0", "--select", "XL402", "--ignore", "XL4", str(freebsd)], capsys
    )
    assert "XL402" in out and "XL103" not in out


def test_directory_expansion_skips_non_elf(
    freebsd: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "README").write_text("text")
    code, out, err = run(["--target", "xen-4.0", str(tmp_path)], capsys)
    assert code == 1
    assert "README" not in out and "XL402" in out
    assert "1 file" in err


def test_rules_and_explain(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["rules", "--format", "json"], capsys)
    rows = json.loads(out)
    assert code == 0 and {"XL000", "XL103", "XL402"} <= {r["code"] for r in rows}
    code, out, _ = run(["explain", "feature-needs-bitmap"], capsys)
    assert code == 0
    assert out.startswith("XL402 feature-needs-bitmap (default severity: error)")
    assert "How to fix:" in out and "SUPPORTED_FEATURES" in out


def test_notes_decodes_by_type_not_by_gnu_name(
    freebsd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["notes", "--format", "json", str(freebsd)], capsys)
    assert code == 0
    (rec,) = json.loads(out)
    by_name = {n["name"]: n for n in rec["notes"]}
    assert by_name["GUEST_OS"]["value"] == "FreeBSD"
    assert by_name["PHYS32_ENTRY"]["value"] == 0x100010
    assert by_name["FEATURES"]["value"] == FREEBSD_FEATURES.decode()
    assert rec["source"] == "segments"
    code, out, _ = run(["notes", str(freebsd)], capsys)
    assert "PHYS32_ENTRY" in out and "0x100010 (4 bytes)" in out


def test_targets_listing(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["targets", "--target", "xen>=4.21"], capsys)
    assert code == 0
    assert "* xen-4.22" in out and "  xen-4.20.4" in out


def test_matrix_shows_release_boundaries(freebsd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["matrix", "--target", "xen>=4.0,<4.8", str(freebsd)], capsys)
    assert code == 0
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[2:]}
    header = out.splitlines()[1].split()
    assert header == ["pv", "pvh", "pv-dom0", "pvh-dom0"]
    pvh = header.index("pvh")
    assert "XL402" in rows["xen-4.0"][pvh] and "XL103" in rows["xen-4.0"][pvh]
    assert rows["xen-4.4"][pvh] == "XL103"
    assert rows["xen-4.7"][pvh] == "ok"


def test_python_m_and_version(tmp_path: Path) -> None:
    env = dict(os.environ)
    proc = subprocess.run(
        [sys.executable, "-m", "xenlint", "--version"], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0
    assert proc.stdout.startswith("xenlint ")
    assert "plugin xenlint" in proc.stdout and "XL402" in proc.stdout


def test_informational_rule_only_when_selected(capsys: pytest.CaptureFixture[str]) -> None:
    from kernels import EXAMPLES

    path = str(EXAMPLES / "linux-pv-pvh.elf")
    code, out, _ = run([path], capsys)
    assert code == 0 and out == ""
    # Selected, it runs; its info findings are in the JSON report (and in the text report
    # only with --show-info: an info line on every link teaches people to skip lines).
    code, out, err = run(["--extend-select", "XL007", path], capsys)
    assert code == 0 and out == "" and "info not shown: --show-info" in err
    code, out, _ = run(["--extend-select", "XL007", "--format", "json", path], capsys)
    assert code == 0 and {f["code"] for f in json.loads(out)["findings"]} == {"XL007"}
    _, out, _ = run(["--select", "ALL", "--format", "json", path], capsys)
    assert "XL007" in out


@pytest.mark.parametrize(
    ("argv", "command", "rest"),
    [
        (["x.elf"], "check", ["x.elf"]),
        (["rules", "--format", "json"], "rules", ["--format", "json"]),
        (["--format", "json", "rules"], "rules", ["--format", "json"]),
        # An option's value is not the command; a file named like one after '--' is a path.
        (["--select", "rules", "x.elf"], "check", ["--select", "rules", "x.elf"]),
        (["-o", "matrix", "x.elf"], "check", ["-o", "matrix", "x.elf"]),
        (["--form", "json", "notes", "x"], "notes", ["--form", "json", "x"]),
        (["--format=json", "targets"], "targets", ["--format=json"]),
        (["-qo", "f", "matrix", "x"], "matrix", ["-qo", "f", "x"]),
        (["--", "rules"], "check", ["--", "rules"]),
        (["x.elf", "rules"], "check", ["x.elf", "rules"]),
        (["--help"], None, ["--help"]),
        (["--format", "json", "-h"], None, ["--format", "json", "-h"]),
        (["--version"], "check", ["--version"]),
        ([], "check", []),
    ],
)
def test_command_is_the_first_positional_argument(
    argv: list[str], command: str | None, rest: list[str]
) -> None:
    from xenlint.cli.parser import split_command

    assert split_command(argv) == (command, rest)


@pytest.mark.parametrize(
    ("command", "shown", "hidden"),
    [
        ("check", ["--statistics", "--target", "--select", "-o FILE", "PATH"], []),
        ("rules", ["--format FORMAT", "text, json"], ["--target", "--statistics"]),
        ("explain", ["CODE", "markdown"], ["--select", "--isolated"]),
        ("notes", ["--target", "--max-decompressed-size"], ["--select", "--exit-zero"]),
        ("targets", ["--target", "--config"], ["--select", "--show-fixes"]),
        ("matrix", ["--select", "--mode", "PATH"], ["--statistics", "--skip-non-elf"]),
    ],
)
def test_each_command_has_its_own_help(
    command: str, shown: list[str], hidden: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        run([command, "--help"], capsys)
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: xenlint {command} ")
    assert all(word in out for word in shown), out
    assert not any(word in out for word in hidden), out


def test_top_level_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--help"], capsys)
    assert code == 0
    for command in ("check", "rules", "explain", "notes", "targets", "matrix"):
        assert f"\n    {command} " in out
    assert "'xenlint COMMAND --help'" in out


def test_hidden_options_still_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    # Before the split every option was accepted by every command; scripts may pass them.
    code, out, _ = run(["rules", "--target", "xen-4.6", "--select", "XL4"], capsys)
    assert code == 0 and out.startswith("XL000 ")


@pytest.mark.parametrize("command", ["rules", "targets", "notes", "matrix"])
def test_listing_to_output_file_leaves_stdout_empty(
    command: str, freebsd: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out.txt"
    paths = [str(freebsd)] if command in ("notes", "matrix") else []
    code, plain, _ = run([command, *paths], capsys)
    code_o, out, _ = run([command, "-o", str(target), *paths], capsys)
    assert (code_o, out) == (code, "")
    assert target.read_text() == plain
