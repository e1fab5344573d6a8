"""The decompression limit: a size from the config file or the command line reaches the
loader; bad sizes are one-line config errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from elfbuilder import Note, xen_kernel

from xenlint.cli.main import main
from xenlint.config.file import ConfigError, parse_size


@pytest.mark.parametrize(
    ("value", "size"),
    [(4096, 4096), ("4096", 4096), ("512M", 512 << 20), ("2G", 2 << 30), ("1.5GiB", 3 << 29)],
)
def test_sizes(value: object, size: int) -> None:
    assert parse_size(value, "x") == size


@pytest.mark.parametrize("value", ["", "lots", "-1", 0, True, [1]])
def test_bad_sizes(value: object) -> None:
    with pytest.raises(ConfigError, match="max-decompressed-size"):
        parse_size(value, "xenlint.toml: max-decompressed-size")


def test_config_limit_reaches_the_loader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    elf = xen_kernel([Note(6, b"linux\0")], text_size=1 << 20)  # notes after 1 MiB of code
    packed = subprocess.run(["gzip", "-c"], input=elf, capture_output=True, check=True).stdout
    (tmp_path / "xen.gz").write_bytes(packed)
    (tmp_path / "xenlint.toml").write_text('max-decompressed-size = "64K"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("XENLINT_CONFIG", raising=False)
    assert main(["--format", "json", "xen.gz"]) == 2
    (finding,) = json.loads(capsys.readouterr().out)["findings"]
    assert finding["code"] == "XL000" and "65536-byte limit" in finding["message"]
    assert main(["--format", "json", "--max-decompressed-size", "8M", "xen.gz"]) != 2
    (tmp_path / "xenlint.toml").write_text('max-decompressed-size = "huge"\n')
    assert main(["xen.gz"]) == 2
    assert "max-decompressed-size: 'huge' is not a size" in capsys.readouterr().err
