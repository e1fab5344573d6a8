"""xenlint.output.jsontext writes JSON laid out byte for byte as the standard library's
json.dumps(obj, indent=2): on any JSON value xenlint can hold (hypothesis, with the standard
library as the oracle), and on every JSON text the CLI writes for real and hostile images."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT, run
from elfbuilder import Note, xen_kernel
from hypothesis import given, settings
from hypothesis import strategies as st

from xenlint.output import jsontext

# Every value a report holds: no floats (xenlint writes none; ujson spells some differently).
_LEAVES = st.none() | st.booleans() | st.integers() | st.text()
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: st.lists(inner) | st.tuples(inner, inner) | st.dictionaries(st.text(), inner),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(_VALUES)
def test_dumps_writes_what_the_standard_library_writes(value: object) -> None:
    assert jsontext.dumps(value) == json.dumps(value, indent=2)


@pytest.mark.parametrize(
    "value",
    [
        "\x7f",  # DEL: ujson leaves it raw, a control byte in the output
        "\udcff\x00\x1b\u2028\U0001f600/",  # a surrogate from a non-UTF-8 file name
        2**64,  # past ujson's 64 bits: the standard library writes it
        -(2**63) - 1,
        {"a": [], "b": {}, "c": ()},
    ],
)
def test_dumps_edge_values(value: object) -> None:
    assert jsontext.dumps(value) == json.dumps(value, indent=2)


@pytest.mark.parametrize("value", [b"bytes", object()])
def test_dumps_refuses_what_json_refuses(value: object) -> None:
    with pytest.raises(TypeError):
        json.dumps(value, indent=2)
    with pytest.raises(TypeError):
        jsontext.dumps(value)


GUEST_OS, LOADER = 6, 8


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    hostile = tmp_path_factory.mktemp("jsontext") / "strings.elf"
    notes = [Note(GUEST_OS, b"del\x7f\xe9\xff\x1b[2J\0"), Note(LOADER, b"\n::error::x\0")]
    hostile.write_bytes(xen_kernel(notes))
    return [*sorted((ROOT / "examples").glob("*.elf")), hostile]


@pytest.mark.parametrize(
    "args",
    [
        ["--format", "json", "--exit-zero"],
        ["--format", "sarif", "--exit-zero"],
        ["--format", "sarif-github", "--exit-zero"],
        ["--format", "gitlab", "--exit-zero"],
        ["--format", "json", "--statistics", "--exit-zero"],
        ["notes", "--format", "json"],
        ["matrix", "--format", "json"],
    ],
)
def test_cli_json_is_laid_out_as_the_standard_library_lays_it_out(
    args: list[str], images: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, err = run([*args, *map(str, images)], capsys)
    assert out == json.dumps(json.loads(out), indent=2) + "\n", err
    assert "\x7f" not in out and out.isascii()


@pytest.mark.parametrize(
    "args", [["rules", "--format", "json"], ["explain", "XL402", "--format", "json"]]
)
def test_listings_json_is_laid_out_as_the_standard_library_lays_it_out(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(args, capsys)
    assert out == json.dumps(json.loads(out), indent=2) + "\n"
