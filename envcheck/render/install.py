"""Install plans as a runnable script (comments + commands), markdown, or JSON."""

from __future__ import annotations

import sys

from envcheck.install import Plan
from envcheck.render.console import Output, commands_fit
from envcheck.render.output import View
from envcheck.snapshot.facts import jsonable


def as_dict(plan: Plan) -> dict:
    d = jsonable(plan)
    d["commands"] = [plan.shell(s) for s in plan.steps]
    return d


def text(plan: Plan, console: Output, explain: bool = False, quiet: bool = False) -> None:
    """Every line that is not a command starts with '#', so stdout can be pasted into a shell."""
    commands_fit([plan.shell(s) for s in plan.steps], console.file)
    if quiet:
        for step in plan.steps:
            console.print(plan.shell(step))
        return
    console.wrap(plan.why, "# ", "#   ", style="bold")
    for note in plan.notes:
        console.wrap(note, "# note: ", "#   ", style="yellow")
    if explain:
        _explain(plan, console)
    for step in plan.steps:
        if step.comment:
            console.wrap(step.comment, "# ", "#   ", style="dim")
        console.print(plan.shell(step), markup=False)


def grouped_rejections(rejected) -> list[tuple[str, str, list[str]]]:
    """(variant, reason, [torch releases]) in first-seen order: one line per distinct reason."""
    groups: dict = {}
    for r in rejected:
        groups.setdefault((r.variant, r.reason), []).append(r.torch)
    return [(v, reason, releases) for (v, reason), releases in groups.items()]


def rejections_to(rejected, console: Output) -> None:
    """Why each build was turned down, for --explain (on stderr when nothing fits)."""
    if not rejected:
        console.print("# rejected: nothing — no build matched the request at all", markup=False)
        return
    console.print("# rejected builds:", markup=False)
    for variant, reason, releases in grouped_rejections(rejected):
        console.wrap(f"{variant} (torch {_releases(releases)}): {reason}", "#   ", "#     ")


def _releases(releases: list[str]) -> str:
    """The torch releases a rejection covers, newest first: "2.5.1 … 2.0.0"."""
    return releases[0] if len(releases) == 1 else f"{releases[-1]} … {releases[0]}"


def _explain(plan: Plan, console: Output) -> None:
    if not plan.rejected:
        console.print("# rejected: nothing — every build considered fits", style="dim", markup=False)
        return
    console.print("# rejected builds:", style="dim", markup=False)
    for variant, reason, releases in grouped_rejections(plan.rejected):
        console.wrap(f"{variant} (torch {_releases(releases)}): {reason}", "#   ", "#     ", style="dim")


def markdown(plan: Plan, explain: bool = False) -> str:
    lines = [f"**{plan.why}**", ""]
    lines += [f"- {n}" for n in plan.notes]
    if plan.notes:
        lines.append("")
    lines.append("```bash")
    lines += [plan.shell(s) for s in plan.steps]
    lines.append("```")
    if explain and plan.rejected:
        lines += ["", "| build | torch | rejected because |", "|---|---|---|"]
        lines += [f"| {v} | {_releases(rs)} | {reason} |" for v, reason, rs in grouped_rejections(plan.rejected)]
    return "\n".join(lines) + "\n"


def view(plan: Plan, explain: bool = False, quiet: bool = False, index_check: dict | None = None) -> View:
    """index_check: install-cmd --check-index's findings (render.index.check_dict), in the JSON."""
    return View(lambda c: text(plan, c, explain, quiet),
                lambda: {**as_dict(plan), **({"index_check": index_check} if index_check is not None else {})},
                lambda: _fitting_markdown(plan, explain))


def _fitting_markdown(plan: Plan, explain: bool) -> str:
    """The markdown, once its commands are known to fit stdout, where render.output.emit writes it."""
    commands_fit([plan.shell(s) for s in plan.steps], sys.stdout)
    return markdown(plan, explain)
