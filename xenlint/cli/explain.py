"""`xenlint explain CODE`: a rule's whole story (text, json, or its docs/rules/ markdown page)."""

from __future__ import annotations

import argparse

from xenlint.cli.parser import UsageError
from xenlint.cli.stream import EXIT_OK, write
from xenlint.engine.plugin import Registry
from xenlint.engine.rule import Rule


def run(args: argparse.Namespace, registry: Registry) -> int:
    """Explain the one rule named by code or name; an unknown one is a usage error."""
    from xenlint.output import jsontext

    if len(args.paths) != 1:
        raise UsageError("explain takes one rule code or name, e.g. 'xenlint explain XL402'")
    rule = registry.rule(args.paths[0])
    if rule is None:
        raise UsageError(f"unknown rule {args.paths[0]!r} (see 'xenlint rules')")
    if args.format == "json":
        output = jsontext.dumps(explanation_dict(rule, registry)) + "\n"
    elif args.format == "markdown":
        from xenlint.output.ruledoc import markdown

        output = markdown(rule)
    else:
        output = explanation_text(rule, registry) + "\n"
    write(output, args.output_file)
    return EXIT_OK


def explanation_dict(rule: Rule, registry: Registry) -> dict[str, str]:
    """The `--format json` record of a rule: code, name, severity, texts, plugin."""
    return {
        "code": rule.code,
        "name": rule.name,
        "severity": str(rule.severity),
        "summary": rule.summary,
        "explanation": rule.explanation.strip(),
        "fix": rule.fix.strip(),
        "plugin": registry.rule_plugin[rule.code],
    }


def explanation_text(rule: Rule, registry: Registry) -> str:
    """The same text as the rule's page in docs/rules/ (both come from xenlint.output.ruledoc)."""
    from xenlint.output.ruledoc import text

    return text(rule)
