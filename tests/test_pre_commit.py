"""The hooks of .pre-commit-hooks.yaml, run by the real `pre-commit` in a throwaway project.

The hook repository is a snapshot of this checkout's working tree (tracked and new files,
as `git ls-files` sees them) committed into a temporary git repository, so the test checks
what is on disk now, not only what is committed. pre-commit clones it and `pip install`s it
into the hook environment (`language: python`); that needs pip to reach PyPI for pluggy,
pyelftools and setuptools, so the hook environment is built once per module in a temporary
PRE_COMMIT_HOME and the tests skip with the reason when it cannot be built.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow

BROKEN = ROOT / "examples" / "pvh-virtual-entry.elf"  # XL201, XL202 on every PVH release
CLEAN = ROOT / "examples" / "linux-pv-pvh.elf"  # clean on every Xen 4.x
PRE_COMMIT = [sys.executable, "-m", "pre_commit"]


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("pre-commit-home")
    return {
        **os.environ,
        "PRE_COMMIT_HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(home / "gitconfig"),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
        "XENLINT_CONFIG": "",
    }


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> tuple[str, str]:
    """(path, sha) of a git repository holding this checkout's current files."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout of xenlint")
    repo = tmp_path_factory.mktemp("hook-repo")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listed)):
        src = ROOT / name
        if src.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / name)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)
    return str(repo), git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def installed(
    hook_repo: tuple[str, str], env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Build the hook environment once (pip install of the hook repo)."""
    project = new_project(tmp_path_factory.mktemp("warmup"), hook_repo, env)
    proc = pre_commit(project, env, "install-hooks")
    if proc.returncode != 0:
        pytest.skip(f"pre-commit could not build the hook environment: {proc.stdout[-500:]}")


def new_project(path: Path, hook_repo: tuple[str, str], env: dict[str, str]) -> Path:
    repo, sha = hook_repo
    git(path, "init", "-q")
    (path / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {repo}\n  rev: {sha}\n  hooks:\n  - id: xenlint\n  - id: xenlint-build\n"
    )
    (path / "pyproject.toml").write_text('[tool.xenlint]\npaths = ["build/vmlinux"]\n')
    (path / ".gitignore").write_text("build/\n")
    return path


def pre_commit(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PRE_COMMIT, *args], cwd=project, env=env, capture_output=True, text=True, timeout=600
    )


def test_xenlint_hook_blocks_a_commit_of_a_broken_image(
    tmp_path: Path, hook_repo: tuple[str, str], env: dict[str, str], installed: None
) -> None:
    project = new_project(tmp_path, hook_repo, env)
    (project / "kernels").mkdir()
    shutil.copy(BROKEN, project / "kernels" / "broken.elf")
    shutil.copy(CLEAN, project / "kernels" / "clean.elf")
    (project / "kernels" / "notes.txt").write_text("text files are never handed to xenlint\n")
    (project / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(256))
    assert pre_commit(project, env, "install").returncode == 0

    # The real git hook: the commit of the broken image is refused with the finding.
    git(project, "add", ".pre-commit-config.yaml", "pyproject.toml", ".gitignore")
    git(project, "add", "kernels/broken.elf", "kernels/notes.txt", "logo.png")
    commit = subprocess.run(
        ["git", "commit", "-m", "add kernel"], cwd=project, env=env, capture_output=True, text=True
    )
    out = commit.stdout + commit.stderr
    assert commit.returncode != 0, out
    assert "xenlint (Xen ELF notes of committed kernel images)" in out and "Failed" in out
    assert "kernels/broken.elf: error: XL201 phys32-entry-not-32bit: " in out
    assert "notes.txt" not in out and "logo.png" not in out
    assert git(project, "rev-list", "--all") == ""  # nothing was committed

    # The clean image (with the text file and the picture) commits.
    git(project, "rm", "-q", "--cached", "kernels/broken.elf")
    git(project, "add", "kernels/clean.elf")
    commit = subprocess.run(
        ["git", "commit", "-m", "add kernel"], cwd=project, env=env, capture_output=True, text=True
    )
    out = commit.stdout + commit.stderr
    assert commit.returncode == 0, out
    assert "xenlint (Xen ELF notes of committed kernel images)" in out and "Passed" in out
    # xenlint-build is not on the pre-commit stage.
    assert "built kernel images" not in out

    # Files named explicitly: the broken image fails, the picture is skipped silently.
    run = pre_commit(project, env, "run", "xenlint", "--files", "kernels/broken.elf", "logo.png")
    assert run.returncode == 1 and "XL202" in run.stdout and "logo.png" not in run.stdout

    # A project narrows the hook with `files:`: a broken image under vendor/ is left alone.
    (project / "vendor").mkdir()
    shutil.copy(BROKEN, project / "vendor" / "prebuilt.elf")
    git(project, "add", "vendor/prebuilt.elf")
    assert pre_commit(project, env, "run", "xenlint", "--all-files").returncode == 1
    config = project / ".pre-commit-config.yaml"
    config.write_text(
        config.read_text().replace("- id: xenlint\n", "- id: xenlint\n    files: ^kernels/\n")
    )
    run = pre_commit(project, env, "run", "xenlint", "--all-files")
    assert run.returncode == 0, run.stdout


def test_xenlint_build_hook_checks_untracked_build_output(
    tmp_path: Path, hook_repo: tuple[str, str], env: dict[str, str], installed: None
) -> None:
    project = new_project(tmp_path, hook_repo, env)
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "project")
    (project / "build").mkdir()
    shutil.copy(BROKEN, project / "build" / "vmlinux")
    assert git(project, "status", "--porcelain") == ""  # untracked and ignored

    run = pre_commit(project, env, "run", "xenlint-build", "--hook-stage", "manual")
    assert run.returncode == 1, run.stdout
    assert "build/vmlinux: error: XL201 phys32-entry-not-32bit: " in run.stdout
    # The same relative path `xenlint build/vmlinux` prints, not the config's absolute one,
    # and the fix under the line.
    assert re.search(r"^build/vmlinux: error: XL201 ", run.stdout, re.MULTILINE), run.stdout
    assert "\n  fix: " in run.stdout

    # On push: the real pre-push hook refuses to push while the build output is broken.
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(project, "remote", "add", "origin", str(remote))
    assert pre_commit(project, env, "install", "--hook-type", "pre-push").returncode == 0
    push = subprocess.run(
        ["git", "push", "-q", "origin", "HEAD:main"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    assert push.returncode != 0
    assert "build/vmlinux: error: XL202" in push.stdout + push.stderr
    assert git(remote, "rev-list", "--all") == ""

    shutil.copy(CLEAN, project / "build" / "vmlinux")
    run = pre_commit(project, env, "run", "xenlint-build", "--hook-stage", "manual")
    assert run.returncode == 0, run.stdout
    assert "Passed" in run.stdout
    push = subprocess.run(
        ["git", "push", "-q", "origin", "HEAD:main"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    assert push.returncode == 0, push.stdout + push.stderr


SEED_SOURCE = ROOT / "tests" / "source" / "freebsd-xen-locore.S"


def test_xenlint_source_hook_refuses_the_seed_mistake(
    tmp_path: Path, hook_repo: tuple[str, str], env: dict[str, str], installed: None
) -> None:
    """The seed's mistake (hvm_callback_vector in FEATURES) is refused in the commit that
    introduces it, at its line, before anything is built."""
    project = new_project(tmp_path, hook_repo, env)
    config = project / ".pre-commit-config.yaml"
    config.write_text(config.read_text() + "  - id: xenlint-source\n")
    (project / "sys" / "amd64").mkdir(parents=True)
    locore = project / "sys" / "amd64" / "xen-locore.S"
    clean = SEED_SOURCE.read_text()
    locore.write_text(clean)
    (project / "README").write_text("a text file the hook never reads\n")
    assert pre_commit(project, env, "install").returncode == 0
    git(project, "add", "-A")
    commit = subprocess.run(
        ["git", "commit", "-m", "kernel"], cwd=project, env=env, capture_output=True, text=True
    )
    out = commit.stdout + commit.stderr
    assert commit.returncode == 0, out
    assert "xenlint (Xen ELF notes in assembly sources and linker scripts)" in out

    broken = clean.replace(
        'supervisor_mode_kernel")', 'supervisor_mode_kernel|hvm_callback_vector")'
    )
    assert broken != clean
    locore.write_text(broken)
    line = next(i for i, t in enumerate(broken.splitlines(), 1) if "hvm_callback_vector" in t)
    git(project, "add", "-A")
    commit = subprocess.run(
        ["git", "commit", "-m", "advertise the callback vector"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    out = commit.stdout + commit.stderr
    assert commit.returncode != 0, out
    assert f"sys/amd64/xen-locore.S:{line}:" in out
    assert ": error: XL402 feature-needs-bitmap: FEATURES names 'hvm_callback_vector'" in out
    assert git(project, "rev-list", "--count", "HEAD") == "1"  # the broken commit was refused

    run = pre_commit(project, env, "run", "xenlint-source", "--files", "sys/amd64/xen-locore.S")
    assert run.returncode == 1 and "XL402" in run.stdout
