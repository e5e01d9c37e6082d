"""What `compat refresh` found, and what `install-cmd --check-index` confirmed, as text or JSON."""

from __future__ import annotations

from envcheck.redact import redact
from envcheck.render.console import Output
from envcheck.render.output import View


def refresh_dict(r) -> dict:
    k = r.knowledge
    return {
        "source": r.source.name,
        "url": r.source.template,
        "fetched": k.fetched,
        "variants_read": list(k.variants),
        "releases": {v: k.builds[v] for v in k.builds},
        "adds_to_tables": list(r.added),
        "releases_not_in_tables": list(r.unknown_releases),
        "companion_gaps": list(r.companion_gaps),
        "errors": [*r.errors, *over_budget(r)],
        "offsite": list(r.offsite),
        "cache": r.cache_path,
        "cache_error": r.cache_error,
    }


def refresh_text(r, console: Output) -> None:
    k = r.knowledge
    console.print(f"# read {len(k.variants)} variant listing(s) of {r.source.name} ({r.source.template}), {k.fetched}", markup=False)
    if k.builds:
        console.print(f"# torch releases listed: {len(k.builds)}", markup=False)
    _listed(console, "what the index has beyond envcheck's shipped tables (used from now on):", r.added,
            "the shipped tables already list every build and Python version read")
    if r.unknown_releases:
        console.print(f"# releases on the index that envcheck's tables do not know (upgrade envcheck): {', '.join(r.unknown_releases)}", markup=False)
    _listed(console, "paired releases the index has no wheel of, beside a torch build it has:", r.companion_gaps)
    if not r.cache_error:
        console.print(f"# cached in {r.cache_path}", markup=False)


def _listed(console: Output, title: str, lines, none: str = "") -> None:
    """A '#' heading and its lines, or the `none` sentence when there are none."""
    if lines:
        console.print(f"# {title}", markup=False)
        for line in lines:
            console.print(f"  {line}", markup=False)
    elif none:
        console.print(f"# {none}", markup=False)


def over_budget(r) -> list[str]:
    """The one line naming the builds left unread when --budget ran out, or none."""
    if not r.not_read:
        return []
    return [f"stopped after {r.budget:g} s (--budget): not read: {', '.join(r.not_read)}; what was read is kept; "
            f"read the rest with --variants {','.join(r.not_read)}"]


def refresh_problems(r) -> list[str]:
    """Lines for stderr: listings not read, links that leave the mirror, a cache not written."""
    lines = [f"warning: {e}" for e in r.errors]
    lines += [f"warning: {x}" for x in (*over_budget(r), *r.refused)]
    lines += [f"warning: {r.source.name}'s listings lead to {h}: downloads through it come from {h}" for h in r.offsite]
    if r.cache_error:
        lines.append(f"warning: {r.cache_error}")
    return [redact(x) for x in lines]


def check_dict(c) -> dict:
    return {
        "target": c.target,
        "files": [
            {"project": x.wanted.project, "version": x.wanted.version, "build": x.wanted.local or x.wanted.variant,
             "source": x.wanted.source, "listing": redact(x.wanted.where), "file": x.filename or None,
             "error": redact(x.error) or None, "alternative": x.alternative or None}
            for x in c.files
        ],
        "offsite": list(c.offsite),
        "unchecked": c.unchecked or None,
    }


def _what(w) -> str:
    build = "" if w.default_index else f"+{w.local or w.variant}"
    return f"{w.project} {w.version}{build}"


def check_lines(c) -> list[tuple[str, str]]:
    """(level, line) for stderr: ok | warning | error. A missing file names where it does exist."""
    if not c.files:
        return [("warning", f"--check-index checks the exact wheels of pip and uv lines; {c.unchecked}")]
    out = []
    if c.unreadable:  # one line for a network failure, however many files it hid
        first = c.unreadable[0].error
        more = f" (and {len(c.unreadable) - 1} more listing(s))" if len(c.unreadable) > 1 else ""
        out.append(("warning", f"could not check the index: {first}{more}; the commands are printed unconfirmed"))
    if c.not_checked:  # one line for every file the budget left unchecked
        names = ", ".join(_what(x.wanted) for x in c.not_checked)
        out.append(("warning", f"stopped after {c.budget:g} s (--budget): not checked: {names}; the commands are printed, "
                               f"these files unconfirmed; to wait longer for a slow mirror, give --budget more seconds"))
    for x in c.files:
        if x.filename:
            out.append(("ok", f"index: {x.wanted.source} has {x.filename}"))
        elif not x.error:
            line = f"{x.wanted.source} lacks {_what(x.wanted)} for {c.target}"
            if x.alternative:
                line += f"; {x.alternative}"
            elif x.elsewhere_unread:
                line += f"; the other copies of PyTorch's index were not all read within {c.budget:g} s (--budget), so it may exist elsewhere"
            elif not x.wanted.default_index:
                line += "; no other copy of PyTorch's index envcheck knows has it either"
            out.append(("error", line))
    out += [("warning", o) for o in c.offsite]
    out += [("warning", x) for x in c.refused]
    return [(level, redact(text)) for level, text in out]


def refresh_view(r) -> View:
    return View(lambda c: refresh_text(r, c), lambda: refresh_dict(r))
