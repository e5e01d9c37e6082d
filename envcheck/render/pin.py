"""`envcheck pin`: the file written, what it pins and from where, and how to use it."""

from __future__ import annotations

from envcheck.render.console import Output
from envcheck.render.output import View


def view(file: str, pinned, usages, written: bool) -> View:
    def text(o: Output) -> None:
        o.print(f"{'Wrote' if written else 'Already up to date:'} {file}", style="bold")
        for p in pinned.pins:
            o.print(f"  {p.line:<32} from {p.source.words}" + (f" ({p.source.url})" if p.source.url else ""))
        for u in usages:
            o.print()
            o.print(f"{u.title}:", style="bold")
            for line in u.lines:
                o.command("  ", line)
            if u.note:
                o.wrap(u.note, "  ", "  ", style="dim")

    def payload() -> dict:
        return {
            "file": file,
            "written": written,
            "pins": [{"name": p.name, "version": p.version, "from": p.source.words, "url": p.source.url} for p in pinned.pins],
            "usage": [{"title": u.title, "lines": list(u.lines), "note": u.note} for u in usages],
        }

    return View(text, payload)
