"""Print the finding-code tables of README.md and docs/DESIGN.md from the catalogue
(envcheck/checks/codes/), or rewrite them in place between their markers.

    python tools/code_tables.py            # print both sections
    python tools/code_tables.py --write    # rewrite the marked sections of README.md and docs/DESIGN.md
    python tools/code_tables.py --check    # exit 1 when a file disagrees with the catalogue

tests/test_code_tables.py fails when the files and the catalogue disagree.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from envcheck.checks.codes import CODES  # noqa: E402  (after the path above)
from envcheck.checks.findings import SEVERITIES  # noqa: E402

BEGIN, END = "<!-- finding codes: begin (tools/code_tables.py) -->", "<!-- finding codes: end -->"


def design_table() -> str:
    """docs/DESIGN.md: one row per code, with its area, the severities it can have, and when."""
    rows = ["| code | area | severity | when |", "|---|---|---|---|"]
    for c in CODES.values():
        severities = sorted({v.severity for v in c.variants.values()}, key=SEVERITIES.index)
        rows.append(f"| `{c.code}` | {c.area} | {', '.join(severities)} | {c.when} |")
    return "\n".join(rows)


def readme_list() -> str:
    """README.md: each code and when doctor gives it."""
    return "\n".join(f"- `{c.code}`: {c.when}" for c in CODES.values())


SECTIONS = {"README.md": readme_list, "docs/DESIGN.md": design_table}


def rewritten(text: str, body: str, name: str) -> str:
    """`text` with the part between the markers replaced by `body`."""
    pattern = re.compile(re.escape(BEGIN) + r"\n(?:.*?\n)?" + re.escape(END), re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"{name}: no section between {BEGIN!r} and {END!r}")
    return pattern.sub(lambda _: f"{BEGIN}\n{body}\n{END}", text, count=1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite the marked sections")
    mode.add_argument("--check", action="store_true", help="exit 1 when a file disagrees with the catalogue")
    args = ap.parse_args(argv)
    stale = []
    for name, make in SECTIONS.items():
        path = ROOT / name
        text = path.read_text(encoding="utf-8")
        new = rewritten(text, make(), name)
        if args.write and new != text:
            path.write_text(new, encoding="utf-8")
        elif args.check and new != text:
            stale.append(name)
        elif not args.write and not args.check:
            print(f"{name}:\n{make()}\n")
    for name in stale:
        print(f"{name} disagrees with envcheck/checks/codes/: run python tools/code_tables.py --write", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
