"""Mirror listings and the changes `mirror set/unset` made (or would make)."""

from __future__ import annotations

from envcheck.actions.changes import Change
from envcheck.compat import Mirror
from envcheck.render.console import Output
from envcheck.render.output import View
from envcheck.snapshot.facts import jsonable


def listing(mirrors: tuple[Mirror, ...], c: Output) -> None:
    c.print("PyPI mirrors carry only the builds the default index carries; some also copy PyTorch's CUDA wheels.", style="bold")
    for m in mirrors:
        wheels = {
            "none": "no",
            "index": f"yes, an index: --index-url {m.wheels_url}",
            "find-links": f"yes, a flat folder: -f {m.wheels_url} with the +cuXXX version pinned",
        }[m.wheels_form]
        c.print(f"{m.name:<8} {m.title}")
        c.print(f"         pip index: {m.pypi}")
        c.print(f"         PyTorch CUDA wheels: {wheels}")
        c.print(f"         conda channels: {', '.join(m.conda_channels) or 'none'}")
        c.print(f"         sure: {m.status}", style="dim")


def show(index_url, extra, known: Mirror | None, problems: tuple, c: Output) -> None:
    if index_url is None:
        c.print("pip uses the default index (no mirror set)", markup=False)
    else:
        label = f" — the {known.title} mirror ({known.name})" if known else ""
        c.print(f"pip index-url: {index_url}{label}", markup=False)
    for url in extra:
        c.print(f"pip extra-index-url: {url}", markup=False)
    for line in problems:
        c.print(f"problem: {line}", style="red", markup=False)


def changes(done: list[Change], c: Output) -> None:
    for ch in done:
        cmd = " ".join(ch.argv)
        if ch.detail.startswith("note:"):
            c.print(ch.detail[5:], markup=False)
        elif ch.detail == "backup":
            c.print(f"backed up: {ch.argv[2]}", markup=False)
        elif ch.done:
            c.print(f"ran: {cmd}", markup=False)
        else:
            c.print(f"would run: {cmd}", markup=False)


def listing_view(mirrors: tuple[Mirror, ...]) -> View:
    return View(lambda c: listing(mirrors, c), lambda: {"mirrors": jsonable(mirrors)})


def show_view(index_url, extra, known: Mirror | None, problems: tuple = ()) -> View:
    return View(lambda c: show(index_url, extra, known, problems, c),
                lambda: {"index_url": index_url, "extra_index_urls": list(extra), "mirror": known.name if known else None,
                         "problems": list(problems)})
