"""Point pip (and conda) at a mirror and back, as one change that happens whole or not at all.

pip is configured with its own `pip config --user|--site set/unset` (pip picks the format); conda
with `conda config --set`, after ~/.condarc is copied aside. Everything is read and checked first
(pip's config files by pip's own rules, ~/.condarc by conda itself); what a change replaces is
recorded (envcheck/actions/mirror_record.py) before the first write; when a later step fails, each
step already done is undone, newest first: pip's setting through pip again, then each file's bytes
as they were. `unset` puts back only what envcheck set and still finds as it left it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from envcheck.actions import condarc, mirror_record
from envcheck.actions.changes import Change, note
from envcheck.compat import Mirror
from envcheck.errors import UserError, first_line
from envcheck.files import put_back, read_or_none
from envcheck.install import conda_mirror_argv
from envcheck.probes import pip_config
from envcheck.redact import redact_url

KEY = "global.index-url"


class Undo:
    """The steps of one change done so far, each with what takes it back."""

    def __init__(self) -> None:
        self.steps: list = []

    def add(self, what: str, undo) -> None:
        self.steps.append((what, undo))

    def failed(self, cause: str) -> UserError:
        """Undo every step, newest first, and say in one line what failed and what was put back."""
        back, lost = [], []
        for what, undo in reversed(self.steps):
            try:
                undo()
                back.append(what)
            except (OSError, UserError) as exc:
                lost.append(f"{what} ({first_line(str(exc))})")
        said = f"{cause}; put back as it was: {', '.join(reversed(back))}" if back else f"{cause}; nothing was changed"
        if lost:
            said += f"; could NOT put back: {', '.join(lost)} (what it was is in {mirror_record.record_path()})"
        return UserError(said)


def _shown(argv: tuple) -> str:
    return redact_url(" ".join(argv))


def run(argv: tuple) -> str:
    """Run one configuration command; its output, or one line saying how it failed."""
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, errors="replace", timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UserError(f"could not run {_shown(argv[:4])}: {exc}") from exc
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or done.stdout.strip().splitlines() or ["no output"])[-1]
        raise UserError(f"`{_shown(argv)}` failed: {tail}")
    return done.stdout.strip()


# -- pip -------------------------------------------------------------------------------------------


def pip_argv(scope: str, value: str | None, python: str = sys.executable) -> tuple:
    """`pip config --user set global.index-url URL`, or `... unset global.index-url` for None."""
    if value is None:
        return (python, "-m", "pip", "config", f"--{scope}", "unset", KEY)
    return (python, "-m", "pip", "config", f"--{scope}", "set", KEY, value)


def pip_target() -> pip_config.EditTarget:
    """The file `pip config set` writes, once every file pip reads is known to be readable."""
    broken = pip_config.problems()
    if broken:
        raise UserError(f"pip cannot read its configuration: {broken[0]}; nothing was changed")
    target = pip_config.edit_target()
    if target.path is None:
        raise UserError(f"{target.refused}; nothing was changed")
    return target


def _set_pip(scope: str, path: Path, value: str | None, python: str) -> str:
    """Make pip's file hold `value` (None: no index-url) through pip."""
    if value is None and pip_config.file_value(path) is None:
        return ""
    return run(pip_argv(scope, value, python))


def _undo_pip(scope: str, path: Path, value: str | None, before: bytes | None, python: str):
    """Take pip's setting back through pip, then make the file the bytes it was (pip rewrites the
    whole file in its own format: blank lines and comments would differ)."""
    def undo() -> None:
        try:
            _set_pip(scope, path, value, python)
        finally:
            put_back(path, before)
    return undo


# -- set -------------------------------------------------------------------------------------------


def set_mirror(mirror: Mirror, conda: bool, dry_run: bool, python: str = sys.executable) -> list[Change]:
    """Make pip (and with `conda`, conda) use `mirror`; each file changed whole or not at all."""
    target = pip_target()
    pip_set = pip_argv(target.scope, mirror.pypi, python)
    conda_set = _conda_set_argv(mirror) if conda else []
    if dry_run:
        return [Change(a, False) for a in (pip_set, *conda_set)]
    rc_before = None
    if conda:
        rc_before = condarc.read_checked()
        condarc.check_conda_reads_it()
    old = mirror_record.load()
    pip_before = read_or_none(target.path)
    now = pip_config.file_value(target.path)
    record = dict(old or {})
    record["pip"] = _pip_entry(target, now, mirror.pypi, (old or {}).get("pip"))

    undo = Undo()
    try:
        mirror_record.save(record)
    except OSError as exc:
        raise UserError(f"cannot write envcheck's record {mirror_record.record_path()}: {exc.strerror or exc}; nothing was changed") from exc
    undo.add("envcheck's record", lambda: mirror_record.put_back(old))
    changes = []
    try:
        undo.add(f"pip's index-url in {target.path}", _undo_pip(target.scope, target.path, now, pip_before, python))
        run(pip_set)
        changes.append(Change(pip_set, True))
        if conda:
            changes += _set_conda(conda_set, rc_before, record, old, undo)
    except (UserError, OSError) as exc:
        raise undo.failed(_cause(exc)) from exc
    return changes


def overridden(url: str) -> str | None:
    """After a set: one line naming what pip takes over the index-url just written (PIP_INDEX_URL,
    a file pip reads later, an [install] section) and how to clear it; None when pip uses `url`.
    Read by pip's own order (probes/pip_config.py), so `pip install` and this line agree."""
    idx = pip_config.read_pip_index()
    if idx.index_url and idx.index_url.rstrip("/") == redact_url(url).rstrip("/"):
        return None
    uses = idx.index_url or "the default index"
    origin = idx.origin.get("index-url", "")
    if origin == "environment":
        clear = "set PIP_INDEX_URL=" if os.name == "nt" else "unset PIP_INDEX_URL"
        return (f"pip will still use {uses}: the environment variable PIP_INDEX_URL wins over every config file; "
                f"run `{clear}` (and remove it where it is set, e.g. ~/.bashrc or Windows' environment variables)")
    written = pip_config.edit_target().path
    if origin == str(written):
        return f"pip will still use {uses}: index-url under [install] in {origin} wins over [global]; remove that line"
    return f"pip will still use {uses}: {origin} is read after {written} and wins; remove index-url from {origin}"


def _pip_entry(target, now: str | None, set_to: str, earlier: dict | None) -> dict:
    """What `unset` needs for pip: the value before envcheck's first set that is still in place
    (a second `set` keeps the first one's), and what this one writes."""
    entry = {"file": str(target.path), "scope": target.scope, "previous": now, "existed": target.path.exists(), "set_to": set_to}
    if earlier and earlier.get("file") == entry["file"] and earlier.get("set_to") == now:
        entry["previous"], entry["existed"] = earlier.get("previous"), earlier.get("existed", True)
    return entry


def _conda_set_argv(mirror: Mirror) -> list[tuple]:
    if not mirror.conda:
        raise UserError(f"mirror {mirror.name} has no conda mirror: choose one of those that do (envcheck mirror list)")
    return [tuple(a) for a in conda_mirror_argv(mirror)]


def _set_conda(commands: list, before: bytes | None, record: dict, old: dict | None, undo: Undo) -> list[Change]:
    """Back up ~/.condarc, run `conda config --set`, then record the bytes conda left."""
    path = condarc.condarc_path()
    changes = []
    if before is not None:
        copy = condarc.backup(before)
        changes.append(Change(("cp", str(path), str(copy)), True, "backup"))
    undo.add(str(path), lambda: put_back(path, before))
    for argv in commands:
        run(argv)
        changes.append(Change(argv, True))
    earlier = (old or {}).get("conda")
    kept = earlier and earlier.get("written") == condarc.digest(before)  # envcheck's earlier set still in place
    record["conda"] = {"file": str(path), "previous": earlier.get("previous") if kept else condarc.encode(before),
                       "written": condarc.digest(read_or_none(path))}
    mirror_record.save(record)
    return changes


def _cause(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return f"{exc.filename or 'a file'}: {exc.strerror or exc}"
    return str(exc)


# -- unset -----------------------------------------------------------------------------------------


def unset_mirror(dry_run: bool, python: str = sys.executable) -> list[Change]:
    """Put back what `set` replaced, where envcheck still finds what it wrote; leave the rest."""
    record = mirror_record.load()
    if record is None:
        return [note("nothing to undo: envcheck has not set a mirror here, so pip's and conda's settings are left as they are")]
    changes, steps = [], []
    pip = record.get("pip")
    if pip:
        path = Path(pip["file"])
        now = pip_config.file_value(path)
        if now == pip["set_to"]:
            steps.append(("pip", pip_argv(pip["scope"], pip.get("previous"), python), pip, path))
        else:
            changes.append(note(f"left: pip's index-url in {path} was changed since envcheck set it (now {redact_url(now or 'none')}); envcheck leaves it"))
    rc = record.get("conda")
    if rc:
        path = Path(rc["file"])
        if condarc.digest(read_or_none(path)) == rc.get("written"):
            steps.append(("conda", ("put back", str(path)), rc, path))
        else:
            changes.append(note(f"left: {path} was changed since envcheck set the mirror; envcheck leaves it (its copy from before is beside it)"))
    if dry_run:
        return [Change(argv, False) for _, argv, _, _ in steps] + changes
    undo, done = Undo(), []
    try:
        for kind, argv, entry, path in steps:
            before = read_or_none(path)
            if kind == "pip":
                undo.add(f"pip's index-url in {path}", _undo_pip(entry["scope"], path, entry["set_to"], before, python))
                _set_pip(entry["scope"], path, entry.get("previous"), python)
                if entry.get("previous") is None and not entry.get("existed", True):
                    _drop_if_empty(path)
                done.append(Change(argv, True))
            else:
                undo.add(str(path), lambda path=path, before=before: put_back(path, before))
                put_back(path, condarc.decode(entry.get("previous")))
                done.append(note(f"put back: {path} as it was before `envcheck mirror set`"))
        undo.add("envcheck's record", lambda: mirror_record.save(record))
        mirror_record.put_back(None)
    except (UserError, OSError) as exc:
        raise undo.failed(_cause(exc)) from exc
    return done + changes


def _drop_if_empty(path: Path) -> None:
    """pip's unset of the file's last setting leaves an empty file where envcheck's set made one."""
    if read_or_none(path) in (b"", b"\n"):
        path.unlink()
