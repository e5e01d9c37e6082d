"""Tables that fit the console's width (80 columns on a pipe, docs/DESIGN.md "Output"): every column
has a header, numbers never break, words fold inside their column. Prose folds through Output.wrap."""

from __future__ import annotations

from envcheck.terminal_text import clean  # before layout: a cell is measured as it will be shown


def table(title: str, headers: list, rows: list, words: tuple = (), left: tuple = (), styles: list | None = None):
    """A rich table. `words`: headers of columns whose text may fold to fit; `left`: other
    left-aligned columns (names); the rest are numbers, right-aligned and never broken; `styles`:
    one per row (None for plain), shown where the console has colour."""
    # here, not at the top: rich.table costs ~70 ms, which --json and markdown output never pay
    from rich import box
    from rich.table import Table
    from rich.text import Text  # cells are text, never markup: a path or an error may hold "[red]"
    t = Table(title=Text(title) if title else None, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD, pad_edge=False,
              show_edge=False, collapse_padding=True)
    for h in headers:
        t.add_column(Text(h), justify="left" if h in words or h in left else "right", no_wrap=h not in words, overflow="fold")
    for row, style in zip(rows, styles or [None] * len(rows)):
        t.add_row(*(Text(clean(x)) if isinstance(x, str) else x for x in row), style=style)
    return t
