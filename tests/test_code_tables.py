"""README.md's and docs/DESIGN.md's finding-code tables are printed from the catalogue
(tools/code_tables.py): they fail here when a code is added, renamed or described anew without
rewriting them (python tools/code_tables.py --write)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from envcheck.checks.codes import CODES

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("code_tables", ROOT / "tools" / "code_tables.py")
code_tables = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(code_tables)


def test_readme_and_design_agree_with_the_catalogue():
    for name, make in code_tables.SECTIONS.items():
        text = (ROOT / name).read_text(encoding="utf-8")
        assert code_tables.rewritten(text, make(), name) == text, f"{name}: run python tools/code_tables.py --write"


def test_every_code_has_a_row_and_a_stale_row_is_caught():
    table = code_tables.design_table()
    assert all(f"| `{c}` |" in table for c in CODES)
    text = (ROOT / "docs/DESIGN.md").read_text(encoding="utf-8")
    stale = text.replace("| `gpu-health` |", "| `gpu-status` |")
    assert code_tables.rewritten(stale, table, "DESIGN.md") != stale
    assert code_tables.main(["--check"]) == 0
