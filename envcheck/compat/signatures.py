"""compat/error_signatures.toml: known error messages, how to recognise each and which finding it is."""

from __future__ import annotations

from typing import NamedTuple

from envcheck.compat.rows import Rows


class Signature(NamedTuple):
    """A known error message (compat/error_signatures.toml): how to recognise it and which finding
    it is; the finding's words are in the catalogue (envcheck/checks/codes/) under code and variant."""

    id: str
    needle: str
    pattern: str
    code: str
    variant: str  # the code's variant in the catalogue (the row's id unless the row names one)
    stack: bool  # fix = "@stack": the torch-stack plan, from the paste's own facts where it has them
    source: str


class Signatures(Rows):
    """In the table's order: a line takes the first row that matches it."""

    def __init__(self, raw: dict) -> None:
        super().__init__(
            Signature(r["id"], r["needle"], r["pattern"], r["code"], r.get("variant", r["id"]), r.get("fix") == "@stack",
                      r["source"])
            for r in raw["signature"]
        )

    def get(self, id: str) -> Signature | None:
        return next((s for s in self.rows if s.id == id), None)
