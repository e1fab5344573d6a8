"""Plugins: third-party distributions installed for real, broken ones, clashing codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from elfbuilder import Note, xen_kernel

import xenlint.engine.plugin as plugin_mod
from xenlint import hookimpl
from xenlint.engine.plugin import load
from xenlint.engine.rule import Context, Result, Rule, Severity

GOOD = """
from xenlint import hookimpl
from xenlint.engine.rule import Result, Rule, Severity


class GuestOsIsShouting(Rule):
    code = "XD101"
    name = "guest-os-shouting"
    severity = Severity.WARNING
    summary = "GUEST_OS is all capitals"
    explanation = "A project rule: keep GUEST_OS lower-case."
    fix = "write the name in lower case"

    def check(self, ctx):
        for cell in ctx.xen_cells:
            value = ctx.xen(cell).strings.get("GUEST_OS", "")
            if value and value.isupper():
                yield Result((cell,), f"GUEST_OS {value!r} is shouting")


@hookimpl
def xenlint_rules():
    return [GuestOsIsShouting()]
"""

# A third-party loader: its own replay engine (registered through xenlint_loader_engines) and
# a target profile naming it. The engine reuses linux-loader's note walk, as a VMM built on
# rust-vmm (crosvm, say) would, under its own name and messages.
VMM = """
from xenlint import hookimpl
from xenlint.abi.loaders import LoaderProfile
from xenlint.abi.profile import Mode
from xenlint.replay import pvh
from xenlint.replay.engines import LoaderEngine


class DemoVmm(LoaderEngine):
    name = "demo-vmm"

    def read(self, image, loader):
        return pvh.linux_loader(image, loader)

    def consequence(self, image, reading):
        if reading.failure is None:
            return f"DemoVMM boots the entry {reading.entry:#x}"
        return f"DemoVMM stops: {reading.failure.message}"


@hookimpl
def xenlint_loader_engines():
    return [DemoVmm()]


@hookimpl
def xenlint_targets():
    common = dict(modes=frozenset({Mode.PVH}), fixed_modes=True, covers_later=True)
    return [
        LoaderProfile(family="demo-vmm", version=(1, 0), name="demo-vmm-1.0", engine="demo-vmm",
                      program="DemoVMM", note="a third-party VMM", **common),
        LoaderProfile(family="ghost-vmm", version=(1, 0), name="ghost-vmm-1.0", engine="ghost",
                      program="GhostVMM", **common),
    ]
"""

PIP_INSTALL = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation"]
BROKEN = "import xenlint_no_such_module_anywhere\n"


def make_dist(root: Path, name: str, module: str, source: str, ep_name: str) -> Path:
    proj = root / name
    proj.mkdir()
    (proj / f"{module}.py").write_text(source)
    (proj / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [build-system]
            requires = ["setuptools>=64"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "{name}"
            version = "1.2.3"

            [tool.setuptools]
            py-modules = ["{module}"]

            [project.entry-points.xenlint]
            {ep_name} = "{module}"
            """
        )
    )
    return proj


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Install two real distributions (a good and a broken plugin) into a private path."""
    root = tmp_path_factory.mktemp("dists")
    target = root / "site"
    for dist in (
        make_dist(root, "xenlint-demo", "xenlint_demo", GOOD, "demo"),
        make_dist(root, "xenlint-broken", "xenlint_broken", BROKEN, "broken"),
        make_dist(root, "xenlint-demo-vmm", "xenlint_demo_vmm", VMM, "demo-vmm"),
    ):
        proc = subprocess.run(
            [*PIP_INSTALL, "--target", str(target), str(dist)],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            pytest.fail(f"pip install of {dist.name} failed: {proc.stderr[-2000:]}")
    return target


def xenlint(site: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(site))
    return subprocess.run(
        [sys.executable, "-m", "xenlint", "--isolated", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
    )


def test_third_party_rule_runs_and_broken_plugin_is_named(site: Path, tmp_path: Path) -> None:
    image = tmp_path / "k.elf"
    image.write_bytes(xen_kernel([Note(6, b"LINUX\0"), Note(5, b"xen-3.0\0")]))
    proc = xenlint(site, "--format", "json", "--target", "xen-4.22", str(image), cwd=tmp_path)
    err = proc.stderr.strip().splitlines()
    assert err[0] == (
        'xenlint: error: failed to load plugin "broken" from xenlint-broken 1.2.3: '
        "ModuleNotFoundError: No module named 'xenlint_no_such_module_anywhere'"
    )
    assert proc.returncode == 2  # the broken plugin
    findings = json.loads(proc.stdout)["findings"]
    demo = [f for f in findings if f["code"] == "XD101"]
    assert demo and demo[0]["message"] == "GUEST_OS 'LINUX' is shouting"
    assert demo[0]["severity"] == "warning"
    assert any(f["code"].startswith("XL") for f in findings)  # built-ins still ran


def test_third_party_loader_engine(site: Path, tmp_path: Path) -> None:
    """A distribution adds a loader: its engine replays the image, the PVH-note rules judge
    its reading and word the consequence its way; a profile naming no registered engine is
    refused in one line."""
    image = tmp_path / "k.elf"
    image.write_bytes(xen_kernel([Note(6, b"linux\0")]))
    proc = xenlint(site, "--format", "json", "--target", "demo-vmm", str(image), cwd=tmp_path)
    err = proc.stderr.strip().splitlines()
    assert (
        'xenlint: error: plugin "demo-vmm": target ghost-vmm-1.0 names loader engine '
        "'ghost', which no plugin registers"
    ) in err
    findings = json.loads(proc.stdout)["findings"]
    assert [(f["code"], f["targets"], f["message"]) for f in findings] == [
        ("XL510", ["demo-vmm-1.0"], "no PHYS32_ENTRY note: DemoVMM stops: PvhEntryNotPresent")
    ]
    image.write_bytes(xen_kernel([Note(18, b"\x10\x00\x10\x00")]))
    proc = xenlint(site, "--format", "json", "--target", "demo-vmm", str(image), cwd=tmp_path)
    assert json.loads(proc.stdout)["findings"] == []
    listing = xenlint(site, "targets", "--target", "demo-vmm", cwd=tmp_path).stdout
    assert "demo-vmm-1.0" in listing and "ghost-vmm" not in listing


def test_version_lists_plugins(site: Path, tmp_path: Path) -> None:
    proc = xenlint(site, "--version", cwd=tmp_path)
    assert "plugin xenlint-demo 1.2.3: 1 rule (XD101)" in proc.stdout
    assert "plugin xenlint 0.1.0" in proc.stdout


def test_third_party_rule_is_selectable_and_explained(site: Path, tmp_path: Path) -> None:
    proc = xenlint(site, "explain", "guest-os-shouting", cwd=tmp_path)
    assert "XD101 guest-os-shouting (default severity: warning)" in proc.stdout


class _Dup(Rule):
    code = "XL402"
    name = "some-other-name"
    severity = Severity.ERROR
    summary = "clash"
    explanation = "clash"
    fix = "clash"

    def check(self, ctx: Context):  # type: ignore[override]
        yield from ()


class _DupPlugin:
    @hookimpl
    def xenlint_rules(self) -> list[Rule]:
        return [_Dup()]


class _Raises:
    @hookimpl
    def xenlint_rules(self) -> list[Rule]:
        raise RuntimeError("boom")


class _NotARule:
    @hookimpl
    def xenlint_rules(self) -> list[object]:
        return [object()]


def test_duplicate_code_refused() -> None:
    reg = load(extra=[("dup", _DupPlugin())])
    assert any("rule code XL402 is already defined" in e for e in reg.errors)
    assert reg.rule_plugin["XL402"] == "XL402"  # the built-in kept it


def test_hook_failure_and_bad_objects_reported() -> None:
    reg = load(extra=[("raises", _Raises()), ("junk", _NotARule())])
    assert any(
        'plugin "raises" failed in xenlint_rules: RuntimeError: boom' in e for e in reg.errors
    )
    assert any('plugin "junk"' in e and "not a xenlint.engine.rule.Rule" in e for e in reg.errors)
    assert "XL402" in reg.rules


def test_non_prefixed_attributes_are_not_hooks() -> None:
    class Plain:
        @hookimpl
        def rules(self) -> list[Rule]:  # not xenlint_*: ignored, like pytest does
            raise AssertionError("must not be called")

    reg = load(extra=[("plain", Plain())])
    assert not reg.errors


def test_builtins_register_through_entry_points() -> None:
    eps = [ep for ep, dist, _ in plugin_mod._entry_points() if dist == "xenlint"]
    modules = {ep.value for ep in eps}
    assert "xenlint.rules.features.feature_needs_bitmap" in modules
    reg = load()
    assert not reg.errors
    assert all(reg.rule_plugin[c].startswith("XL") for c in reg.rules if c.startswith("XL"))


def test_crashing_rule_is_one_line_error(tmp_path: Path) -> None:
    from xenlint.engine.check import cells_for, run_rules
    from xenlint.image.elf import load_elf

    class Crash(_Dup):
        code = "XZ1"

        def check(self, ctx: Context):  # type: ignore[override]
            raise ZeroDivisionError("oops")
            yield Result((), "")

    path = tmp_path / "k.elf"
    path.write_bytes(xen_kernel([Note(6, b"linux\0")]))
    image = load_elf(str(path))
    reg = load()
    findings, errors = run_rules(image, [Crash()], cells_for(image, reg.profiles, None), [])
    assert findings == []
    assert errors == [
        f"rule XZ1 (some-other-name) failed on {path}: ZeroDivisionError: oops; it is disabled"
    ]


def test_select_of_builtin_codes_says_which_plugin_rules_it_leaves_out(
    site: Path, tmp_path: Path
) -> None:
    """`select = ["XL"]` used to turn a third-party plugin's rules off silently."""
    image = tmp_path / "k.elf"
    image.write_bytes(xen_kernel([Note(6, b"LINUX\0"), Note(5, b"xen-3.0\0")]))
    proc = xenlint(site, "--select", "XL", "--target", "xen-4.22", str(image), cwd=tmp_path)
    assert (
        "xenlint: warning: command line: select leaves out the rules of plugin 'demo' (XD101): "
        "add them to select (or extend-select), or ignore them to silence this"
    ) in proc.stderr.splitlines()
    for args in (["--select", "XL,XD"], ["--select", "XL", "--ignore", "XD101"], []):
        proc = xenlint(site, *args, "--target", "xen-4.22", str(image), cwd=tmp_path)
        assert "select leaves out" not in proc.stderr, args
