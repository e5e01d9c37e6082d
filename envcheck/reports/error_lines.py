"""The error lines of a paste: lines that match a known error signature (compat/error_signatures.toml),
error lines no signature knows, and Python warnings; with the facts their messages state (the
driver's CUDA in torch's "found version 10010", GPU names and capabilities in its warnings).

A reader of report texts (envcheck/reports/read.py): any text may hold error lines, so `sniff` is
always true and `parts` gives nothing when none is found. Linear in the text's length: no regex
runs over more than one line, and lines are cut before they are searched.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from envcheck.compat import Signature
from envcheck.reports.collect_env import NOT_IN_REPORT, warned_facts
from envcheck.snapshot.model import DriverInfo, GpuInfo, Pasted

MAX_LINE = 2000  # longer lines are cut before any pattern runs on them
MAX_PASTED = 50  # error lines kept per paste
MAX_KEPT = 300  # characters of a line kept in the snapshot

# An exception or warning name followed by a colon, anywhere in the line: pastes put them after a
# prompt, in backticks, or inside a sentence ("出现ValueError: ..."). No letter may precede the name.
_WARNING_LINE = re.compile(r"(?<![A-Za-z0-9_])[A-Z]\w{0,40}Warning:")
_ERROR_LINE = re.compile(r"(?<![A-Za-z0-9_])(?:[A-Za-z_][\w]{0,40}\.){0,4}[A-Z]\w{0,60}(?:Error|Exception):")


class Match(NamedTuple):
    signature: Signature | None  # None: an error line (or, with groups["warning"], a warning) no signature knows
    line: str
    groups: dict


def scan(text: str, signatures) -> list[Match]:
    """Each line that matches a signature, with the groups its pattern captured, and each error or
    warning line none matches. A line takes the first row that matches it."""
    low = text.lower()
    active = [(s, re.compile(s.pattern, re.IGNORECASE)) for s in signatures if s.needle in low]
    found: list[Match] = []
    seen: set = set()
    for line in text.split("\n"):
        if not line or line.isspace():
            continue
        if len(found) >= MAX_PASTED:
            break
        stripped = line.strip()[:MAX_LINE]
        lowered = stripped.lower()
        hit = None
        for sig, rx in active:
            if sig.needle in lowered:
                m = rx.search(stripped)
                if m:
                    hit = Match(sig, stripped, {k: v for k, v in m.groupdict().items() if v})
                    break
        if hit is None and ("Error" in stripped or "Exception" in stripped) and _ERROR_LINE.search(stripped):
            hit = Match(None, stripped, {})
        elif hit is None and "Warning" in stripped and _WARNING_LINE.search(stripped):
            hit = Match(None, stripped, {"warning": "yes"})
        key = (hit.signature.id if hit and hit.signature else "", hit.line if hit else "")
        if hit is not None and key not in seen:
            seen.add(key)
            found.append(hit)
    return found


def sniff(text: str) -> bool:
    return True


def parts(text: str, tables) -> dict:
    """The pasted lines, and a driver of what the messages state (used where no report in the
    paste says more); {} when the text holds no error line."""
    found = scan(text, tables.signatures)
    if not found:
        return {}
    pasted = tuple(Pasted(m.signature.id if m.signature else "", m.line[:MAX_KEPT], m.groups) for m in found)
    facts = warned_facts(text)
    gpus = tuple(GpuInfo(i, name, NOT_IN_REPORT, NOT_IN_REPORT, cc, NOT_IN_REPORT)
                 for i, (name, cc) in enumerate(facts.get("capabilities", {}).items()))
    driver = DriverInfo(NOT_IN_REPORT, facts.get("cuda_driver") or NOT_IN_REPORT, gpus or NOT_IN_REPORT,
                        nvidia_on_pci=bool(gpus), source="report")
    return {"pasted": pasted, "driver": driver}
