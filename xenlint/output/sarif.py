"""SARIF 2.1.0 for findings in binary images, in two profiles.

`sarif` follows the spec: an ELF image is a binary artifact, so a finding's region is a byte
region (`byteOffset`/`byteLength`) and never a text region (SARIF §3.30.1). Every result
also has a logical location naming the note (or the section or segment) it is about.

`sarif-github` is for GitHub code scanning, whose upload requires a line-based region: the
region becomes line 1 of the artifact and the byte range moves into `properties`, and each
result carries the `primaryLocationLineHash` fingerprint GitHub would otherwise compute from
the text of the file. conventions.md §5.2-5.3 has the sources for both.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import posixpath
from pathlib import Path
from urllib.parse import quote

from xenlint import __version__
from xenlint.engine.check import Finding, target_label
from xenlint.engine.rule import Rule, Severity
from xenlint.output import jsontext
from xenlint.output.report import Run
from xenlint.output.ruledoc import markdown

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
GITHUB_TEXT_LIMIT = 1024  # shortDescription/fullDescription (GitHub's SARIF support page)


def render(run: Run) -> str:
    return _dump(_log(run, github=False))


def render_github(run: Run) -> str:
    return _dump(_log(run, github=True))


def _dump(log: dict[str, object]) -> str:
    return jsontext.dumps(log) + "\n"


def _log(run: Run, github: bool) -> dict[str, object]:
    fired = sorted({f.code for f in run.findings})
    rule_index = {code: i for i, code in enumerate(fired)}
    artifacts = list(dict.fromkeys([*run.files, *(f.path for f in run.findings)]))
    artifact_index = {path: i for i, path in enumerate(artifacts)}
    seen: dict[str, int] = {}
    results = []
    for f in run.findings:
        result = _result(f, run, rule_index, artifact_index[f.path], github)
        key = _fingerprint(f)
        seen[key] = seen.get(key, 0) + 1
        name = "primaryLocationLineHash" if github else "xenlintFinding/v1"
        result["partialFingerprints"] = {name: f"{key}:{seen[key]}"}
        results.append(result)
    driver: dict[str, object] = {
        "name": "xenlint",
        "semanticVersion": __version__,
        "rules": [_descriptor(code, run, github) for code in fired],
    }
    invocation: dict[str, object] = {
        "executionSuccessful": not run.errors,
        "exitCode": run.exit_status,
    }
    if run.errors:
        invocation["toolExecutionNotifications"] = [
            {"level": "error", "message": {"text": error}} for error in run.errors
        ]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": driver},
                "originalUriBaseIds": {SRCROOT: {"uri": Path.cwd().as_uri() + "/"}},
                "artifacts": [_artifact(path) for path in artifacts],
                "invocations": [invocation],
                "results": results,
            }
        ],
    }


def _descriptor(code: str, run: Run, github: bool) -> dict[str, object]:
    rule = run.rules.get(code)
    if rule is not None:
        return _rule(rule, github)
    # A finding whose rule is not registered (XL000 with its plugin blocked): what we know.
    name = next(f.name for f in run.findings if f.code == code)
    text = f"{code} {name}"
    return {
        "id": code,
        "name": name,
        "shortDescription": {"text": text},
        "fullDescription": {"text": text},
        "help": {"text": text},
    }


def _rule(rule: Rule, github: bool) -> dict[str, object]:
    full = " ".join(rule.explanation.split("\n\n", 1)[0].split())
    if github and len(full) > GITHUB_TEXT_LIMIT:
        full = full[: GITHUB_TEXT_LIMIT - 1] + "…"
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": full},
        "help": {
            "text": f"{rule.explanation.strip()}\n\nHow to fix:\n{rule.fix.strip()}",
            "markdown": markdown(rule),
        },
        "defaultConfiguration": {
            "level": LEVEL[rule.severity],
            "enabled": rule.default_enabled,
        },
        "properties": {"tags": ["xen", "elf-notes", "boot-abi"], "precision": "very-high"},
    }


def _result(
    f: Finding, run: Run, rule_index: dict[str, int], artifact: int, github: bool
) -> dict[str, object]:
    label = target_label(f, run.universe)
    text = f"{f.message} [{label}]" if label else f.message
    physical: dict[str, object] = {"artifactLocation": dict(_location_of(f.path, artifact))}
    properties: dict[str, object] = {"targets": list(f.targets), "modes": list(f.modes)}
    if f.fix.strip():
        properties["fix"] = f.fix.strip()
    loc = f.location
    if loc is not None and loc.offset is not None:
        byte_region = {"byteOffset": loc.offset, "byteLength": loc.length or 0}
        if github:
            properties["byteRegion"] = byte_region
        else:
            physical["region"] = byte_region
    if loc is not None and loc.line is not None:
        # A finding in a source file (assembly, linker script) is a text region at its line.
        physical["region"] = {"startLine": loc.line, "startColumn": loc.column or 1}
    elif github:
        physical["region"] = {"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1}
    location: dict[str, object] = {"physicalLocation": physical}
    if loc is not None and (loc.note or loc.container):
        location["logicalLocations"] = [_logical(loc.note, loc.container)]
    if loc is not None:
        location["message"] = {"text": loc.describe()}
    return {
        "ruleId": f.code,
        "ruleIndex": rule_index[f.code],
        "kind": "fail",
        "level": LEVEL[f.severity],
        "message": {"text": text},
        "locations": [location],
        "properties": properties,
    }


def _logical(note: str | None, container: str | None) -> dict[str, object]:
    """`Xen/FEATURES` inside `PT_NOTE segment 1 (.note.Xen)`: the note by owner and type."""
    if note is None:
        return {"name": container, "fullyQualifiedName": container, "kind": "element"}
    qualified = f"{container}/Xen/{note}" if container else f"Xen/{note}"
    return {"name": f"Xen/{note}", "fullyQualifiedName": qualified, "kind": "object"}


def _artifact(path: str) -> dict[str, object]:
    artifact: dict[str, object] = {
        "location": _artifact_location(path, None),
        "roles": ["analysisTarget"],
    }
    with contextlib.suppress(OSError):  # XL000: the file may be missing
        artifact["length"] = os.stat(path).st_size
    return artifact


def _artifact_location(path: str, index: int | None) -> dict[str, object]:
    """A relative path stays relative to the working directory (%SRCROOT%), as GitHub needs
    repository-relative URIs; an absolute one becomes a file: URI."""
    if os.path.isabs(path):
        location: dict[str, object] = {"uri": Path(path).as_uri()}
    else:
        # A file name that is not UTF-8 holds surrogates (PEP 383): quote its real bytes.
        uri = quote(os.fsencode(posixpath.normpath(Path(path).as_posix())))
        location = {"uri": uri, "uriBaseId": SRCROOT}
    if index is not None:
        location["index"] = index
    return location


@functools.lru_cache(maxsize=4096)
def _location_of(path: str, index: int) -> dict[str, object]:
    """_artifact_location, once per file rather than once per finding (a directory scan
    reports thousands of findings over a few files each); callers copy it."""
    return _artifact_location(path, index)


@functools.lru_cache(maxsize=4096)
def _normalized(path: str) -> str:
    return posixpath.normpath(Path(path).as_posix())


def _fingerprint(f: Finding) -> str:
    """Stable across relinks: code, image path, note and severity, never byte offsets or
    addresses (they move on every link); a counter tells equal ones apart."""
    where = f.location.note or f.location.container if f.location else ""
    key = "\0".join((f.code, _normalized(f.path), where or "", str(f.severity)))
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32]
