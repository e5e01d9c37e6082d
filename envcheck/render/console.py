"""Two consoles: results to stdout, everything else (notes, errors) to stderr.

rich honours NO_COLOR and drops colour when the stream is not a terminal.
"""

from __future__ import annotations

import json
import sys

from rich.console import Console


def out() -> Console:
    return Console(file=sys.stdout, highlight=False, soft_wrap=True)


def err() -> Console:
    return Console(file=sys.stderr, highlight=False, soft_wrap=True)


def print_json(data) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
