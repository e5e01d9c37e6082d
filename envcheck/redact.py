"""Keep secrets out of reports: index URLs may carry credentials (https://user:token@host/...)."""

from __future__ import annotations

import re

_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^@/\s]+)@")


def redact_url(text: str) -> str:
    """'https://me:s3cret@host/simple' -> 'https://****@host/simple' (every URL in the text)."""
    return _USERINFO.sub(lambda m: f"{m.group('scheme')}****@", text)
