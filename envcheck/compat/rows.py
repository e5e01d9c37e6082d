"""The shape every table object shares: its rows, in the table's order, as a read-only sequence."""

from __future__ import annotations

from collections.abc import Sequence


class Rows(Sequence):
    """Iterate, index, slice and count a table's rows (`for r in tables.releases`, `tables.releases[0]`);
    each table adds its own questions as methods."""

    def __init__(self, rows) -> None:
        self.rows = tuple(rows)

    def __getitem__(self, i):
        return self.rows[i]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.rows)} rows)"
