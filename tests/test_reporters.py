"""Machine outputs for CI: SARIF 2.1.0 (spec and GitHub profiles), GitHub annotations, the
JSON report against its committed JSON Schema, -o/--output-file and --statistics.

The SARIF logs are validated against the official 2.1.0 schema kept in ../shared/schemas;
without that directory only the schema check is skipped."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import ROOT, freebsd_notes, run
from elfbuilder import xen_kernel

SARIF_SCHEMA = ROOT.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"
REPORT_SCHEMA = ROOT / "docs" / "schemas" / "xenlint-report.schema.json"
# Old releases refuse the FreeBSD note set: XL402 error (4.0, 4.1), XL402 warning (4.2, 4.3)
# and XL103 (no PVH before 4.7) on the same image.
OLD = ["--target", "xen>=4.0,<4.4"]


def sarif(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code, out, _ = run(args, capsys)
    return code, json.loads(out)


def validate_sarif(log: dict[str, Any]) -> None:
    if not SARIF_SCHEMA.is_file():
        pytest.skip(f"SARIF schema not found at {SARIF_SCHEMA} (../shared is absent)")
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(log)


def validate_report(data: object, ref: str = "") -> None:
    schema = json.loads(REPORT_SCHEMA.read_text())
    if ref:
        schema = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": ref}
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(data)


def test_sarif_spec_profile(
    freebsd: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(freebsd.parent)
    code, log = sarif(["--format", "sarif", *OLD, freebsd.name], capsys)
    assert code == 1
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    (run_,) = log["runs"]
    rules = run_["tool"]["driver"]["rules"]
    # Only the rules that fired, each with its help text.
    assert [r["id"] for r in rules] == ["XL103", "XL402"]
    xl402 = rules[1]
    assert xl402["name"] == "feature-needs-bitmap"
    assert "SUPPORTED_FEATURES" in xl402["help"]["text"]
    assert xl402["help"]["markdown"].startswith("# XL402 `feature-needs-bitmap`")
    assert xl402["defaultConfiguration"]["level"] == "error"
    assert run_["artifacts"][0]["location"] == {"uri": "freebsd.elf", "uriBaseId": "%SRCROOT%"}
    assert run_["artifacts"][0]["length"] == freebsd.stat().st_size
    assert run_["invocations"] == [{"executionSuccessful": True, "exitCode": 1}]
    levels = {(r["ruleId"], r["level"]) for r in run_["results"]}
    assert levels == {("XL103", "error"), ("XL402", "error"), ("XL402", "warning")}
    for result in run_["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    feature = next(r for r in run_["results"] if r["level"] == "warning")
    assert "hvm_callback_vector" in feature["message"]["text"]
    assert "[xen-4.2.0–4.3; pvh]" in feature["message"]["text"]
    (loc,) = feature["locations"]
    physical = loc["physicalLocation"]
    assert physical["artifactLocation"]["index"] == 0
    # A binary artifact: a byte region at the FEATURES note, never a text region.
    data = freebsd.read_bytes()
    offset, length = physical["region"]["byteOffset"], physical["region"]["byteLength"]
    assert data[offset + 12 : offset + 16] == b"Xen\0"
    assert b"hvm_callback_vector" in data[offset : offset + length]
    assert "startLine" not in json.dumps(log)
    (logical,) = loc["logicalLocations"]
    assert logical["name"] == "Xen/FEATURES"
    assert logical["fullyQualifiedName"].endswith("(.note.Xen)/Xen/FEATURES")
    validate_sarif(log)


def test_sarif_github_profile(freebsd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, log = sarif(["--format", "sarif-github", *OLD, str(freebsd)], capsys)
    assert code == 1
    (run_,) = log["runs"]
    for rule in run_["tool"]["driver"]["rules"]:
        for key in ("shortDescription", "fullDescription"):
            assert 0 < len(rule[key]["text"]) <= 1024
        assert rule["help"]["text"] and rule["help"]["markdown"]
    hashes = []
    for result in run_["results"]:
        (loc,) = result["locations"]
        region = loc["physicalLocation"]["region"]
        assert region == {"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1}
        assert loc["physicalLocation"]["artifactLocation"]["uri"] == freebsd.as_uri()
        hashes.append(result["partialFingerprints"]["primaryLocationLineHash"])
    assert len(set(hashes)) == len(hashes) == 3
    with_bytes = [r for r in run_["results"] if "byteRegion" in r["properties"]]
    assert {r["ruleId"] for r in with_bytes} == {"XL402"}
    validate_sarif(log)


def test_sarif_fingerprints_survive_a_relink(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Offsets move when a kernel is relinked; fingerprints must not, or GitHub would close
    and reopen every alert."""
    image = tmp_path / "vmlinux"
    prints = []
    for text_size in (0x100, 0x400):
        image.write_bytes(xen_kernel(freebsd_notes(), entry=0x100010, text_size=text_size))
        _, log = sarif(["--format", "sarif-github", *OLD, str(image)], capsys)
        results = log["runs"][0]["results"]
        prints.append(sorted(r["partialFingerprints"]["primaryLocationLineHash"] for r in results))
        offsets = {r["properties"].get("byteRegion", {}).get("byteOffset") for r in results}
        prints.append(offsets)
    assert prints[0] == prints[2]
    assert prints[1] != prints[3]


def test_sarif_unreadable_image_and_clean_run(
    tmp_path: Path, freebsd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.elf"
    code, log = sarif(
        ["--format", "sarif", "--target", "xen>=4.7", str(freebsd), str(missing)], capsys
    )
    assert code == 2
    (run_,) = log["runs"]
    assert run_["invocations"][0]["exitCode"] == 2
    assert [a["location"]["uri"] for a in run_["artifacts"]] == [freebsd.as_uri(), missing.as_uri()]
    (result,) = run_["results"]
    assert result["ruleId"] == "XL000" and result["level"] == "error"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["index"] == 1
    assert "region" not in result["locations"][0]["physicalLocation"]
    validate_sarif(log)


def test_github_annotations(freebsd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--format", "github", *OLD, str(freebsd)], capsys)
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 3
    pattern = re.compile(r"^::(error|warning|notice) title=([^:,]+),file=([^:,]+)::(.+)$")
    parsed = [pattern.match(line) for line in lines]
    assert all(parsed), lines
    kinds = sorted((m[1], m[2]) for m in parsed if m)
    assert kinds == [
        ("error", "xenlint XL103 (missing-phys32-entry)"),
        ("error", "xenlint XL402 (feature-needs-bitmap)"),
        ("warning", "xenlint XL402 (feature-needs-bitmap)"),
    ]
    warning = next(m for m in parsed if m and m[1] == "warning")
    assert warning[3] == str(freebsd)
    assert warning[4].startswith(f"{freebsd}: XL402 FEATURES names 'hvm_callback_vector'")
    # The fix is on a second annotation line, escaped as the runner expects.
    assert "%0Afix: " in warning[4]


def test_github_target_labels_read_as_in_text(
    freebsd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A release range keeps its en dash in an annotation, as in text output (escaping the
    whole line once showed 'xen-4.0\\u20134.3')."""
    _, text, _ = run(["--format", "text", *OLD, str(freebsd)], capsys)
    _, github, _ = run(["--format", "github", *OLD, str(freebsd)], capsys)
    labels = re.findall(r" \[(xen-[^\]]*)\]", text)
    assert labels and any("\u2013" in label for label in labels), text
    assert set(labels) <= set(re.findall(r" \[(xen-[^\]]*)\]", github))
    assert "\\u" not in github


def test_github_escapes_properties() -> None:
    from xenlint.output.github import _data, _property

    assert _property("a:b,c%d\ne") == "a%3Ab%2Cc%25d%0Ae"
    # a CR is a control byte: xenlint escapes it before the runner's own escaping
    assert _data("50% done: a,b\r\n") == "50%25 done: a,b\\x0d%0A"


def test_json_report_matches_its_schema(
    tmp_path: Path, freebsd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "garbage.elf").write_bytes(b"\x7fELF not really")
    code, out, _ = run(["--format", "json", *OLD, str(tmp_path)], capsys)
    assert code == 2
    data = json.loads(out)
    validate_report(data)
    codes = {f["code"] for f in data["findings"]}
    assert {"XL000", "XL103", "XL402"} <= codes
    assert any(f["location"] is None for f in data["findings"])
    # The schema really constrains: a misspelt severity is refused.
    data["findings"][0]["severity"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        validate_report(data)


def test_statistics(freebsd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--statistics", *OLD, str(freebsd)], capsys)
    assert code == 1
    # Counted as the text report shows them: one XL402 line (error on 4.0-4.1, warning on
    # 4.2-4.3: one mistake), not one per target range.
    assert out.splitlines() == [
        "1  XL103  missing-phys32-entry  error",
        "1  XL402  feature-needs-bitmap  error",
    ]
    code, out, _ = run(["--statistics", "--format", "json", *OLD, str(freebsd)], capsys)
    rows = json.loads(out)
    assert rows[1] == {
        "code": "XL402",
        "name": "feature-needs-bitmap",
        "severity": "error",
        "count": 1,
    }
    validate_report(rows, "#/$defs/statistics")
    code, _, err = run(["--statistics", "--format", "sarif", str(freebsd)], capsys)
    assert code == 2 and "--statistics works with --format text or json" in err


def test_output_file(tmp_path: Path, freebsd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "report.sarif"
    code, out, _ = run(["--format", "sarif", "-o", str(report), *OLD, str(freebsd)], capsys)
    # Written on failure too, so CI can upload it from a failed job; the log keeps the
    # findings as text lines.
    assert code == 1
    assert json.loads(report.read_text())["runs"][0]["results"]
    assert out.splitlines()[0].startswith(f"{freebsd}: error: XL103 missing-phys32-entry: ")
    assert len(out.splitlines()) == 2  # one line per mistake
    code, out, _ = run(["--format", "text", "-o", str(report), *OLD, str(freebsd)], capsys)
    assert out == "" and report.read_text().count(": error: ") == 2
    code, out, err = run(["--output-file", str(tmp_path / "no" / "dir.txt"), str(freebsd)], capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("xenlint: error: cannot write ")


def test_text_lines_match_a_gcc_style_error_matcher(
    freebsd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`file: severity: message`, what GCC prints for file-level diagnostics and what
    make, editors and CI problem matchers look for."""
    code, out, _ = run([*OLD, str(freebsd)], capsys)
    assert code == 1 and len(out.splitlines()) == 2
    gcc = re.compile(r"^(?P<file>[^:\s][^:]*): (?P<severity>error|warning|note|info): (?P<msg>.+)$")
    for line in out.splitlines():
        match = gcc.match(line)
        assert match, line
        assert match["file"] == str(freebsd)
        assert re.match(r"XL\d{3} [a-z0-9-]+: ", match["msg"])


def test_skip_non_elf(tmp_path: Path, freebsd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "logo.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    code, out, err = run(["--skip-non-elf", "--target", "xen>=4.7", str(png), str(freebsd)], capsys)
    assert code == 0 and "logo.png" not in out + err
    code, out, _ = run(["--target", "xen>=4.7", str(png)], capsys)
    assert code == 2 and "XL000" in out


def test_output_file_for_listings(
    tmp_path: Path, freebsd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "notes.json"
    code, out, _ = run(["notes", "--format", "json", "-o", str(out_file), str(freebsd)], capsys)
    assert code == 0 and out == ""
    assert json.loads(out_file.read_text())[0]["path"] == str(freebsd)


def test_formats_per_command(freebsd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["notes", "--format", "sarif", str(freebsd)], capsys)
    assert code == 2 and err == "xenlint: error: notes has no sarif format (use text, json)\n"
    code, _, err = run(["--format", "markdown", str(freebsd)], capsys)
    assert code == 2 and "check has no markdown format" in err


def test_show_fixes_keeps_multi_line_fixes_indented(
    freebsd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(
        ["--show-fixes", "--target", "xen-4.0", "--select", "XL103", str(freebsd)], capsys
    )
    lines = out.splitlines()
    assert lines[1].startswith("  fix: Add ELFNOTE(Xen, XEN_ELFNOTE_PHYS32_ENTRY")
    assert all(line.startswith("       ") for line in lines[2:]), lines


def test_sarif_for_a_finding_without_a_registered_rule(tmp_path: Path) -> None:
    """XL000 is reported by the core even when its plugin is blocked."""
    from xenlint.engine.check import unreadable
    from xenlint.image.model import ImageError
    from xenlint.output import load
    from xenlint.output.report import Run

    missing = str(tmp_path / "gone.elf")
    finding = unreadable(missing, ImageError("cannot open: No such file or directory"), None)
    log = json.loads(load("sarif")(Run([finding], [], [missing], {}, [], 2)))
    (rule,) = log["runs"][0]["tool"]["driver"]["rules"]
    assert rule["id"] == "XL000" and rule["name"] == "image-unreadable"
    validate_sarif(log)


# GitLab's "Code Quality report format" (docs.gitlab.com/ci/testing/code_quality/): the fields
# GitLab requires of each issue, and the severities it accepts.
GITLAB_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
        "properties": {
            "description": {"type": "string", "minLength": 1},
            "check_name": {"type": "string", "minLength": 1},
            "fingerprint": {"type": "string", "minLength": 1},
            "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
            "location": {
                "type": "object",
                "required": ["path", "lines"],
                "properties": {
                    "path": {"type": "string"},
                    "lines": {
                        "type": "object",
                        "required": ["begin"],
                        "properties": {"begin": {"type": "integer", "minimum": 1}},
                    },
                },
            },
        },
    },
}


def test_gitlab_code_quality(capsys: pytest.CaptureFixture[str]) -> None:
    examples = str(ROOT / "examples")
    _, plain, _ = run(["--format", "json", "--select", "ALL", examples], capsys)
    code, out, _ = run(["--format", "gitlab", "--select", "ALL", examples], capsys)
    assert code == 1
    issues = json.loads(out)
    jsonschema.validate(issues, GITLAB_SCHEMA)
    fingerprints = [i["fingerprint"] for i in issues]
    assert len(set(fingerprints)) == len(fingerprints)  # GitLab drops duplicates
    findings = json.loads(plain)["findings"]
    assert len(issues) == len(findings)
    sev = {"error": "major", "warning": "minor", "info": "info"}
    assert [(i["location"]["path"], i["severity"]) for i in issues] == [
        (f["path"], sev[f["severity"]]) for f in findings
    ]


def test_junit_xml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import xml.etree.ElementTree as ET

    clean = tmp_path / "clean.elf"
    clean.write_bytes((ROOT / "examples" / "linux-pv-pvh.elf").read_bytes())
    bad = tmp_path / "bad.elf"
    bad.write_bytes(xen_kernel(freebsd_notes()))
    code, out, _ = run(["--format", "junit", "--target", "xen-4.0", str(clean), str(bad)], capsys)
    assert code == 1 and out.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ET.fromstring(out.split("\n", 1)[1])
    # The elements and attributes of the common JUnit schema (Ant's junitreport / Jenkins).
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {str(clean), str(bad)}
    total = 0
    for suite in suites.values():
        cases = suite.findall("testcase")
        failed = [c for c in cases if c.find("failure") is not None]
        assert suite.get("tests") == str(len(cases)) and suite.get("failures") == str(len(failed))
        assert suite.get("errors") == "0"
        for case in cases:
            assert case.get("name") and case.get("classname") == suite.get("name")
        for case in failed:
            failure = case.find("failure")
            assert failure is not None and failure.get("message")
            assert failure.get("type") in ("error", "warning", "info")
        total += len(cases)
    assert root.get("tests") == str(total)
    (clean_case,) = suites[str(clean)].findall("testcase")
    assert clean_case.find("failure") is None
    bad_names = [c.get("name") for c in suites[str(bad)].findall("testcase")]
    assert "XL402 feature-needs-bitmap" in bad_names


def test_source_findings_in_json_and_sarif(capsys: pytest.CaptureFixture[str]) -> None:
    """A finding in an assembly source has a line and column: the JSON report carries them
    (valid against the schema) and SARIF gives a text region there, in both profiles."""
    seed = ROOT / "tests" / "source" / "freebsd-seed.S"
    line = next(
        i for i, t in enumerate(seed.read_text().splitlines(), 1) if '|hvm_callback_vector"' in t
    )
    code, out, _ = run(["--format", "json", str(seed)], capsys)
    assert code == 1
    data = json.loads(out)
    validate_report(data)
    assert {f["location"]["line"] for f in data["findings"]} == {line}
    for profile in ("sarif", "sarif-github"):
        code, log = sarif(["--format", profile, str(seed)], capsys)
        assert code == 1
        for result in log["runs"][0]["results"]:
            region = result["locations"][0]["physicalLocation"]["region"]
            assert region["startLine"] == line and region["startColumn"] > 1
        validate_sarif(log)


def test_other_messages_on_the_headline_targets_are_not_named_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two XL403 messages on the same note and release (a leading '|' and a '||'): the text
    line says the other message is on the same targets instead of repeating them
    ('[xen-3.1; pv] [also xen-3.1; pv: ...]' read as a duplicate, said a new user)."""
    from elfbuilder import Note

    image = tmp_path / "bars.elf"
    image.write_bytes(xen_kernel([Note(10, b"|writable_page_tables||pae_pgdir_above_4gb\0")]))
    _, out, _ = run(
        ["--target", "xen-3.1", "--mode", "pv", "--select", "XL403", str(image)], capsys
    )
    (line,) = out.splitlines()
    assert "[xen-3.1; pv] [also the same targets: see --format full]" in line
    _, out, _ = run(
        [
            "--target",
            "xen-3.1",
            "--mode",
            "pv",
            "--select",
            "XL403",
            "--format",
            "full",
            str(image),
        ],
        capsys,
    )
    assert "a leading '|'" in out and "'||'" in out
