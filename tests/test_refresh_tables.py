"""tools/refresh_tables.py regenerates the build and Python rows of a copy of compat/torch.toml
from listings served on 127.0.0.1 by the index replicas (PEP 503, PyTorch's real wheel names)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from envcheck.compat import Tables, data_dir
from tests.replicas import Replicas

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = "cu118,cu124,cu126,cpu"


@pytest.fixture(scope="module")
def replicas():
    with Replicas(Tables(data_dir())) as r:
        yield r


def _script(replicas, table: Path, *more: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / "refresh_tables.py"), "--file", str(table),
         "--index", replicas.base + "/pytorch/whl/{variant}", "--variants", VARIANTS, *more],
        capture_output=True, text=True, timeout=300,
    )


def _copy(tmp_path: Path) -> Path:
    shutil.copy(data_dir() / "torch.toml", tmp_path / "torch.toml")
    return tmp_path / "torch.toml"


def _set(table: Path, key: str, values: list) -> None:
    """Set one list of the 2.6.0 row of the copy."""
    text = table.read_text(encoding="utf-8")
    block = text.index('torch = "2.6.0"')
    end = text.index("[[release]]", block)
    row, n = re.subn(rf"(?m)^{key} = \[.*\]$", f"{key} = {json.dumps(values)}", text[block:end], count=1)
    assert n == 1
    table.write_text(text[:block] + row + text[end:], encoding="utf-8")


def test_a_table_that_matches_the_index_gives_no_diff(replicas, tmp_path):
    done = _script(replicas, _copy(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""


def test_dry_run_shows_the_rows_the_index_contradicts_and_write_fixes_them(replicas, tmp_path):
    shipped = Tables(data_dir()).releases.get("2.6.0")
    linux, python, windows = list(shipped.variants["linux"]), list(shipped.python["linux"]), list(shipped.variants["windows"])
    assert "cu126" in linux and len(python) > 1
    table = _copy(tmp_path)
    _set(table, "linux", [v for v in linux if v != "cu126"])  # a build the index has
    _set(table, "python", python[:-1])  # a Python the index has
    _set(table, "windows", [*windows, "cu999"])  # a variant not read: kept as it is
    edited = table.read_text(encoding="utf-8")
    done = _script(replicas, table)
    assert done.returncode == 0, done.stderr
    diff = done.stdout.splitlines()
    assert f"+linux = {json.dumps(linux)}" in diff
    assert f"+python = {json.dumps(python)}" in diff
    assert not any(line.startswith(("+windows", "-windows")) for line in diff)
    assert table.read_text(encoding="utf-8") == edited  # a dry run writes nothing
    done = _script(replicas, table, "--write")
    assert done.returncode == 0 and "rewritten" in done.stdout
    fixed = Tables(tmp_path).releases.get("2.6.0")
    assert list(fixed.variants["linux"]) == linux and list(fixed.python["linux"]) == python
    assert list(fixed.variants["windows"]) == [*windows, "cu999"]


def test_an_unreachable_index_changes_nothing(tmp_path):
    table = _copy(tmp_path)
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "refresh_tables.py"), "--file", str(table),
                           "--index", "http://127.0.0.1:9/whl/{variant}", "--variants", "cpu", "--write"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "nothing to do" in done.stderr
    assert table.read_text(encoding="utf-8") == (data_dir() / "torch.toml").read_text(encoding="utf-8")
