"""Mirror listings and the changes `mirror set/unset` made (or would make)."""

from __future__ import annotations

from envcheck.actions.mirror import Change
from envcheck.compat import Mirror
from envcheck.render.console import Output


def listing(mirrors: tuple[Mirror, ...], c: Output) -> None:
    from rich.table import Table

    t = Table(title="Mirrors (PyPI mirrors carry only the default index's builds)", title_justify="left")
    for col in ("name", "mirror", "pip index", "PyTorch CUDA wheels", "conda"):
        t.add_column(col, overflow="fold")
    for m in mirrors:
        wheels = {"none": "no", "index": f"yes, --index-url {m.wheels_url}", "find-links": f"yes, flat folder: -f {m.wheels_url}"}[m.wheels_form]
        t.add_row(m.name, m.title, m.pypi, wheels, ", ".join(m.conda_channels) or "—")
    c.print(t)


def show(index_url, extra, known: Mirror | None, c: Output) -> None:
    if index_url is None:
        c.print("pip uses the default index (no mirror set)", markup=False)
    else:
        label = f" — the {known.title} mirror ({known.name})" if known else ""
        c.print(f"pip index-url: {index_url}{label}", markup=False)
    for url in extra:
        c.print(f"pip extra-index-url: {url}", markup=False)


def changes(done: list[Change], c: Output) -> None:
    for ch in done:
        cmd = " ".join(ch.argv)
        if ch.detail == "backup":
            c.print(f"backed up: {ch.argv[2]}", markup=False)
        elif ch.detail == "already unset":
            c.print(f"nothing to undo: {cmd}", markup=False)
        elif ch.done:
            c.print(f"ran: {cmd}", markup=False)
        else:
            c.print(f"would run: {cmd}", markup=False)
