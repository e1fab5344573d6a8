"""docs/rules/CODE.md, `xenlint explain CODE` and the SARIF rule help come from one source."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT

from xenlint.cli.main import main
from xenlint.engine.plugin import Registry
from xenlint.output import ruledoc

DOCS = ROOT / "docs" / "rules"


def test_rule_pages_are_in_sync(registry: Registry) -> None:
    expected = {f"{code}.md": ruledoc.markdown(rule) for code, rule in registry.rules.items()}
    on_disk = {p.name: p.read_text() for p in DOCS.glob("*.md")}
    stale = sorted(name for name in expected if on_disk.get(name) != expected[name])
    extra = sorted(set(on_disk) - set(expected))
    hint = "run: python -m xenlint.output.ruledoc docs/rules"
    assert not stale, f"out of date or missing: {stale}; {hint}"
    assert not extra, f"pages for rules that do not exist: {extra}"


def test_explain_prints_the_page_source(
    registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    for code, rule in registry.rules.items():
        assert main(["--isolated", "explain", code]) == 0
        out = capsys.readouterr().out
        assert out == ruledoc.text(rule) + "\n"
        page = (DOCS / f"{code}.md").read_text()
        # Every paragraph of the explanation and the fix is on the page as well.
        for paragraph in re.split(r"\n\s*\n", f"{rule.explanation}\n\n{rule.fix}".strip()):
            first = paragraph.strip().splitlines()[0].strip()
            assert first in out and first in page, (code, first)
        assert main(["--isolated", "explain", "--format", "markdown", code]) == 0
        assert capsys.readouterr().out == page


def test_readme_links_the_rule_pages() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "docs/rules/" in readme
