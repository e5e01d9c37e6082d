"""Regenerate the build and Python rows of compat/torch.toml from PyTorch's wheel index listings.

For every release the listings hold, per platform (Linux x86_64, Linux aarch64, Windows, macOS):
- the variants (`linux = [...]`, `windows = [...]`, ...) become those whose listing has a torch
  wheel of that release for that platform; a variant whose listing could not be read keeps its
  place as it was;
- the Python versions (`python = [...]` for Linux x86_64, `python_<platform>` where another
  platform differs) become the CPython versions of those wheels (free-threaded builds such as
  cp313t are not in the table's schema and are left out).
Everything else in a row (torchvision/torchaudio pairing, default build, pip and conda forms, the
source) and every other table stays curated by hand. A release the listings do not hold is left as
it is. Comments and layout are kept: only the lines named above change.

    python tools/refresh_tables.py                 # dry run: print a unified diff
    python tools/refresh_tables.py --write         # rewrite compat/torch.toml
    python tools/refresh_tables.py --file COPY --index http://127.0.0.1:8000/whl/{variant} --variants cu126,cpu
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from envcheck.compat import PLATFORMS, Tables  # noqa: E402
from envcheck.compat.index_cache import builds_of, variant_order  # noqa: E402
from envcheck.compat.sources import Source, pytorch_source  # noqa: E402
from envcheck.index_check import all_variants  # noqa: E402
from envcheck.probes.wheel_index import read_listings  # noqa: E402


def derive(tables: Tables, source: Source, variants: list[str], **fetch) -> tuple[dict, list[str]]:
    """torch version -> {platform: (variants, pythons)} for the releases the listings hold, and
    the listings that could not be read."""
    urls = {v: source.listing_url(v, "torch") for v in variants}
    got = read_listings(list(urls.values()), **fetch)
    read = {v: got[u] for v, u in urls.items() if got[u].ok}
    errors = [got[u].error for u in urls.values() if not got[u].ok]
    builds = builds_of(read)
    rows: dict = {}
    for r in tables.releases:
        found = builds.get(r.torch)
        if not found:
            continue
        row = {}
        for p in PLATFORMS:
            have = found.get(p, {})
            derived = {v for v in have if v in read} | {v for v in r.variants.get(p, ()) if v not in read}
            ordered = [v for v in r.variants.get(p, ()) if v in derived]
            for v in sorted(derived - set(ordered), key=variant_order):
                later = next((i for i, x in enumerate(ordered) if variant_order(x) > variant_order(v)), len(ordered))
                ordered.insert(later, v)
            pys = sorted({py for v in have.values() for py in v if not py.endswith("t")}, key=lambda x: tuple(map(int, x.split("."))))
            if not pys:  # no wheel for this platform: as it was, or as Linux's when it followed Linux's
                follows = p != "linux" and r.python.get(p) == r.python.get("linux")
                pys = list(row["linux"][1] if follows else r.python.get(p, ()))
            row[p] = (ordered, pys)
        rows[r.torch] = row
    return rows, errors


def _line(key: str, values: list[str]) -> str:
    return f"{key} = {json.dumps(values, ensure_ascii=False)}\n"


def rewrite(text: str, rows: dict) -> str:
    """torch.toml with the build and Python lines of each derived release replaced."""
    blocks = re.split(r"(?m)^(?=\[\[release\]\]\s*$)", text)
    out = []
    for block in blocks:
        m = re.search(r'(?m)^torch = "([^"]+)"\s*$', block)
        if not block.startswith("[[release]]") or not m or m.group(1) not in rows:
            out.append(block)
            continue
        row = rows[m.group(1)]
        lines = block.splitlines(keepends=True)
        linux_py = row["linux"][1]
        keep = []
        for line in lines:
            key = line.split("=", 1)[0].strip() if "=" in line and not line.lstrip().startswith("#") else ""
            if key.startswith("python_") and key[len("python_"):] in PLATFORMS:
                continue  # rewritten below, next to `python`
            if key == "python":
                keep.append(_line("python", linux_py))
                for p in PLATFORMS:
                    if p != "linux" and row[p][1] != linux_py:
                        keep.append(_line(f"python_{p}", row[p][1]))
                continue
            if key in PLATFORMS:
                keep.append(_line(key, row[key][0]))
                continue
            keep.append(line)
        out.append("".join(keep))
    return "".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", type=Path, default=ROOT / "compat" / "torch.toml", help="the torch table to regenerate")
    ap.add_argument("--index", help="per-variant index URL with {variant} (default: PyTorch's own, from the table)")
    ap.add_argument("--variants", help="only these variants, e.g. cu126,cpu (default: every variant in the table)")
    ap.add_argument("--write", action="store_true", help="rewrite the file (default: print a diff)")
    args = ap.parse_args(argv)
    if not args.file.is_file():
        print(f"refresh_tables: {args.file}: no such file", file=sys.stderr)
        return 2
    tables = Tables(args.file.parent)
    source = Source(args.index, args.index, "index") if args.index else pytorch_source(tables)
    if "{variant}" not in source.template:
        print("refresh_tables: --index needs {variant} in the URL", file=sys.stderr)
        return 2
    variants = [v.strip() for v in args.variants.split(",")] if args.variants else all_variants(tables)
    rows, errors = derive(tables, source, variants)
    for e in errors:
        print(f"refresh_tables: warning: {e} (its builds are kept as they are)", file=sys.stderr)
    if not rows:
        print("refresh_tables: no listing held a release of the table: nothing to do", file=sys.stderr)
        return 2
    before = args.file.read_text(encoding="utf-8")
    after = rewrite(before, rows)
    if args.write:
        if after != before:
            args.file.write_text(after, encoding="utf-8")
        print(f"refresh_tables: {args.file}: {len(rows)} release(s) derived, {'rewritten' if after != before else 'unchanged'}")
        return 0
    sys.stdout.writelines(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                               str(args.file), str(args.file) + " (from the index)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
