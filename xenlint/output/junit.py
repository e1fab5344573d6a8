"""JUnit XML (the Ant/Jenkins schema most CI systems read): one <testsuite> per checked file,
one <testcase> per finding (a <failure> whose type is the severity), a passing <testcase>
for a file without findings, and rules that crashed as <error>s of a "xenlint" suite.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from xenlint.escape import escape
from xenlint.output.report import Run


def render(run: Run) -> str:
    """The report as JUnit XML, with an XML declaration."""
    root = ET.Element("testsuites", name="xenlint")
    # File names are escaped like image strings (xenlint.escape): XML 1.0 cannot carry most
    # control characters at all, and an ESC in a name made the report unparseable. Messages,
    # locations and fixes come escaped from the check.
    by_path: dict[str, list[ET.Element]] = {escape(path): [] for path in run.files}
    for f in run.findings:
        path = escape(f.path)
        case = ET.Element("testcase", name=f"{f.code} {f.name}", classname=path)
        message = f.message
        label = run.label(f)
        if label:
            message += f" [{label}]"
        failure = ET.SubElement(case, "failure", message=message, type=str(f.severity))
        text = [message]
        if f.location is not None:
            text.append(f"at {f.location.describe()}")
        if f.fix.strip():
            text.append(f"fix: {f.fix.strip()}")
        failure.text = "\n".join(text)
        by_path.setdefault(path, []).append(case)
    total = failures = errors = 0
    for path, cases in by_path.items():
        suite = ET.SubElement(root, "testsuite", name=path)
        if not cases:
            cases = [ET.Element("testcase", name="xenlint", classname=path)]
        suite.extend(cases)
        count = sum(1 for c in cases if c.find("failure") is not None)
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(count))
        suite.set("errors", "0")
        total, failures = total + len(cases), failures + count
    if run.errors:
        suite = ET.SubElement(root, "testsuite", name="xenlint")
        for i, error in enumerate(run.errors, 1):
            case = ET.SubElement(suite, "testcase", name=f"internal error {i}", classname="xenlint")
            shown = escape(error)
            ET.SubElement(case, "error", message=shown, type="internal").text = shown
        suite.set("tests", str(len(run.errors)))
        suite.set("failures", "0")
        suite.set("errors", str(len(run.errors)))
        total, errors = total + len(run.errors), len(run.errors)
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", str(errors))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"
