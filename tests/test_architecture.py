"""The package's shape (issue 9): one error base, layers that import downwards only."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import xenlint
from xenlint.errors import XenlintError

PACKAGE = Path(xenlint.__file__).parent


def _modules() -> list[str]:
    return [
        m.name
        for m in pkgutil.walk_packages([str(PACKAGE)], prefix="xenlint.")
        if m.name != "xenlint.__main__"
    ]


def _imports(path: Path) -> set[str]:
    """Every xenlint module a source file imports (absolute imports, any nesting)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("xenlint"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("xenlint"))
    return found


def test_every_exception_class_derives_from_xenlint_error() -> None:
    strays = []
    for name in _modules():
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == name
                and not attr.startswith("_")  # private control flow that never escapes
                and not issubclass(value, XenlintError)
            ):
                strays.append(f"{name}.{attr}")
    assert strays == []


def test_abi_imports_nothing_above_it() -> None:
    """ABI facts are data at the bottom: abi/ imports only abi/ (and xenlint.errors, and
    xenlint.record, the value-class base, which imports nothing of xenlint)."""
    bottom = ("xenlint", "xenlint.errors", "xenlint.record")
    upward = {
        f"{path.name}: {imported}"
        for path in (PACKAGE / "abi").glob("*.py")
        for imported in _imports(path)
        if not imported.startswith("xenlint.abi")
        and imported.rpartition(".")[0] not in bottom[1:]
        and imported not in bottom
    }
    assert upward == set()
    assert _imports(PACKAGE / "record.py") == set()


def test_no_rule_module_imports_another() -> None:
    """Rules are plugins, not libraries: what rules share lives in their family's helpers.py
    (or on the engine's Context), so any rule module can be removed or replaced alone."""
    rules = PACKAGE / "rules"
    crossings = set()
    for path in rules.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            crossings.update(
                f"{path.relative_to(rules)}: {name}"
                for name in names
                if name.startswith("xenlint.rules") and not name.endswith(".helpers")
            )
    assert crossings == set()


def test_every_rule_is_found_from_its_code_in_the_tests() -> None:
    """`grep -l XL507 tests/` lists a rule's tests: every built-in rule code is named by a
    test module other than the catalogue (which only lists codes and names)."""
    from xenlint.engine.plugin import load

    tests = Path(__file__).parent
    texts = [p.read_text() for p in tests.glob("test_*.py") if p.name != "test_catalogue.py"]
    registry = load()
    missing = [
        code
        for code, plugin in registry.rule_plugin.items()
        if plugin.startswith("XL") and not any(code in text for text in texts)
    ]
    assert missing == []
