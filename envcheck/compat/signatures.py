"""compat/error_signatures.toml: known error messages, what they mean and what fixes them."""

from __future__ import annotations

from typing import NamedTuple

from envcheck.compat.rows import Rows


class Signature(NamedTuple):
    """A known error message (compat/error_signatures.toml): what it means and what fixes it."""

    id: str
    needle: str
    pattern: str
    code: str
    severity: str
    area: str
    summary: str
    cause: str
    fix: str
    hint: str
    source: str


class Signatures(Rows):
    """In the table's order: a line takes the first row that matches it."""

    def __init__(self, raw: dict) -> None:
        super().__init__(
            Signature(r["id"], r["needle"], r["pattern"], r["code"], r["severity"], r["area"], r["summary"],
                      r.get("cause", ""), r.get("fix", ""), r.get("hint", ""), r["source"])
            for r in raw["signature"]
        )

    def get(self, id: str) -> Signature | None:
        return next((s for s in self.rows if s.id == id), None)
