"""Only envcheck/render/console.py writes to the terminal, so every character passes through
terminal_text.clean: no print(), no sys.stdout/sys.stderr .write, no rich Console made elsewhere,
no typer.echo. Child processes that answer their parent in JSON over a pipe are the exceptions,
named here with the reason."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "envcheck"
CONSOLE = "render/console.py"
# Children whose stdout is a pipe their parent reads as JSON, never a terminal.
PIPE_CHILDREN = {"probes/torch_child.py", "bench/worker.py", "bench/p2p.py", "bench/allreduce.py"}


def _name(node) -> str:
    """'sys.stderr.write' for the call's function, as written."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    return "?"


def terminal_writes(source: str) -> list[str]:
    """Calls in `source` that would write to the terminal around render/console.py."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        if (name in ("print", "typer.echo", "typer.secho", "rich.print", "Console", "rich.console.Console")
                or name.endswith(("stdout.write", "stderr.write", ".file.write"))):
            found.append(f"line {node.lineno}: {name}(...)")
    return found


def test_only_the_console_writes_to_the_terminal():
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel == CONSOLE or rel in PIPE_CHILDREN:
            continue
        calls = terminal_writes(path.read_text(encoding="utf-8"))
        if calls:
            offenders[rel] = calls
    assert offenders == {}, f"write through envcheck.render.console (write, Output, rich_console) instead: {offenders}"


def test_the_check_finds_each_way_around():
    """The rule itself can fail: each way of writing around the console is caught."""
    for line in ("print('x')", "sys.stderr.write(x)", "sys.stdout.write(x)", "o.file.write(x)",
                 "Console(file=sys.stderr)", "typer.echo(x)"):
        assert terminal_writes(line), line
    assert not terminal_writes("path.write_text(x)\nwrite(sys.stderr, x)")
