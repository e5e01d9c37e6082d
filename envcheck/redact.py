"""Keep secrets out of everything envcheck writes: one function for every path out.

Secrets reach a report three ways: index URLs with credentials (https://user:token@host/...),
tokens a program printed (a crashing torch that echoes HF_TOKEN=..., a pasted traceback), and
values a user pasted. `redact` masks all three in any text; the CLI passes every line it writes
(stdout, stderr, JSON, --save) through it. Public markdown also hides GPU UUIDs (`hide_uuids`).
"""

from __future__ import annotations

import re

from envcheck.snapshot.facts import map_leaves

# pip splits a URL's credentials from its host at the LAST "@" before the path: a password may hold
# "@" itself. The greedy run stops at "/" and white space, then backs up to the last "@".
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]{0,20}://)[^/\s@]*(?:@[^/\s@]*)*@(?=[^/\s@]+)")
_NAMED = re.compile(
    r"(?i)\b(?P<name>[A-Z0-9_]{0,60}?(?:TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?))"
    r"(?P<sep>\s{0,3}[=:]\s{0,3})(?P<quote>['\"]?)[^\s'\"]{1,500}"
)
_BEARER = re.compile(r"(?i)\b(Authorization\s{0,3}:\s{0,3}(?:Bearer|Basic|token)?\s{0,3})\S{1,500}")
# Token formats that identify themselves: Hugging Face, GitHub, OpenAI-style, AWS, Slack, GitLab.
_SHAPES = re.compile(
    r"\b(?:hf_[A-Za-z0-9]{20,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|sk-[A-Za-z0-9_-]{20,}"
    r"|AKIA[0-9A-Z]{16}|xox[abprs]-[A-Za-z0-9-]{10,}|glpat-[A-Za-z0-9_-]{20,})"
)
_UUID = re.compile(r"\b(GPU|MIG)-[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\b")


def redact_url(text: str) -> str:
    """'https://me:s3c@ret@host/simple' -> 'https://****@host/simple' (every URL in the text)."""
    if "://" not in text or "@" not in text:
        return text
    return _USERINFO.sub(lambda m: f"{m.group('scheme')}****@", text)


def redact(text: str) -> str:
    """Credentials in URLs, NAME=value pairs whose name says secret, Authorization headers and
    self-identifying tokens, each masked as ****."""
    if not text:
        return text
    text = redact_url(text)
    text = _NAMED.sub(lambda m: f"{m.group('name')}{m.group('sep')}{m.group('quote')}****", text)
    if "uthorization" in text:
        text = _BEARER.sub(lambda m: f"{m.group(1)}****", text)
    return _SHAPES.sub("****", text)


def redact_data(obj):
    """redact() over every string of JSON-like data (dicts, lists, tuples)."""
    return map_leaves(obj, lambda v: redact(v) if isinstance(v, str) else v)


def hide_uuids(text: str) -> str:
    """GPU and MIG UUIDs cut to their prefix, for reports meant for public issue trackers."""
    return _UUID.sub(r"\1-…", text)
