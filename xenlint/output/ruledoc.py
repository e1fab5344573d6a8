"""A rule's documentation, rendered from the rule itself.

`xenlint explain CODE`, the pages under docs/rules/ and the SARIF rule help all come from the
rule's `summary`, `explanation` and `fix`, so they cannot drift apart. Regenerate the pages
with `python -m xenlint.output.ruledoc docs/rules` (a test fails when they are out of date).
"""

from __future__ import annotations

import sys
from pathlib import Path

from xenlint.engine.rule import Rule


def text(rule: Rule) -> str:
    """What `xenlint explain CODE` prints."""
    return (
        f"{rule.code} {rule.name} (default severity: {rule.severity})\n\n"
        f"{rule.summary}\n\n{rule.explanation.strip()}\n\nHow to fix:\n{rule.fix.strip()}\n"
    )


def markdown(rule: Rule) -> str:
    """The rule page: docs/rules/CODE.md, and SARIF `help.markdown`."""
    enabled = "yes" if rule.default_enabled else "no: only when selected by code, prefix or name"
    return (
        f"# {rule.code} `{rule.name}`\n\n"
        f"{rule.summary[:1].upper()}{rule.summary[1:]}.\n\n"
        "| default severity | enabled by default | defined in |\n| --- | --- | --- |\n"
        f"| {rule.severity} | {enabled} | `{type(rule).__module__}` |\n\n"
        f"## What it checks\n\n{_markdown(rule.explanation)}\n\n"
        f"## How to fix\n\n{_markdown(rule.fix)}\n\n"
        "## Configuration\n\n"
        f'```toml\n[tool.xenlint]\nignore = ["{rule.code}"]      # or: --ignore {rule.code}\n\n'
        f'[tool.xenlint.severity]\n{rule.code} = "warning"       # error, warning or info\n```\n\n'
        "_Generated from the rule's source by `python -m xenlint.output.ruledoc docs/rules`; "
        f"`xenlint explain {rule.code}` prints the same text._\n"
    )


def _markdown(plain: str) -> str:
    """Rule text is plain text; its lines indented by 4 spaces are code, fenced here so that
    Markdown does not fold them into the paragraph above."""
    out: list[str] = []
    in_code = False
    for line in plain.strip().splitlines():
        code = line.startswith("    ") and not line.lstrip().startswith("- ")
        if code and not in_code:
            if out and out[-1] != "":
                out.append("")
            out.append("```text")
        elif not code and in_code:
            out.extend(["```", ""] if line.strip() else ["```"])
        in_code = code
        out.append(line[4:] if code else line)
    if in_code:
        out.append("```")
    return "\n".join(out)


def pages() -> dict[str, str]:
    """File name -> page for every registered rule."""
    from xenlint.engine.plugin import load

    registry = load()
    return {f"{code}.md": markdown(rule) for code, rule in registry.rules.items()}


def write(directory: Path) -> list[Path]:
    """Write every rule page into `directory`; returns the files that changed."""
    directory.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, page in pages().items():
        path = directory / name
        if not path.exists() or path.read_text() != page:
            path.write_text(page)
            changed.append(path)
    return changed


if __name__ == "__main__":
    for path in write(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/rules")):
        print(f"wrote {path}")
