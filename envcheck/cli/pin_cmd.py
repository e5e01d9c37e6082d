"""`envcheck pin`: write a constraints file for the working torch stack, and say how to use it."""

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from envcheck.cli.options import Format, FormatOpt, JsonOpt, chosen_format
from envcheck.compat import platform_key, tables
from envcheck.errors import UserError
from envcheck.files import write_atomic
from envcheck.install.pin import DEFAULT_FILE, pin_file, usage
from envcheck.probes.host import read_host
from envcheck.probes.pip_config import read_pip_index
from envcheck.probes.python_env import find_interpreter, interpreter_prefix
from envcheck.probes.torch_probe import read_torch_and_packages
from envcheck.render import pin as render
from envcheck.render.output import emit
from envcheck.snapshot.facts import Installed

_PROBLEM = {"missing": "there is no torch in {python}: install a working stack first (envcheck install-cmd)",
            "import_failed": "torch does not import in {python}: pin only a working stack (envcheck doctor says what is wrong)",
            "crashed": "importing torch crashes {python}: pin only a working stack (envcheck doctor says what is wrong)",
            "timeout": "importing torch did not finish in {python}: pin only a working stack (envcheck doctor says what is wrong)"}


def pin(
    python: Annotated[Optional[str], typer.Option("--python", help="Pin this interpreter's stack: a path, a command on PATH or an environment's directory (default: the one running envcheck).")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="The constraints file to write.")] = Path(DEFAULT_FILE),
    force: Annotated[bool, typer.Option("--force", help="Replace a file that holds something else.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds the check that torch imports may take.")] = 60.0,
    fmt: FormatOpt = Format.table,
    as_json: JsonOpt = False,
) -> None:
    """Write a constraints file that keeps the working torch build in place when later installs ask for plain torch."""
    target = sys.executable if python is None else find_interpreter(python)
    t = tables()
    torch, packages, ort = read_torch_and_packages(target, timeout=timeout)  # the import proves the stack works
    if torch.status != "ok" or not (torch.dist_version or torch.version):
        raise UserError(_PROBLEM.get(torch.status, _PROBLEM["import_failed"]).format(python=target))
    versions = {p.name: p.version for p in packages}
    installed = Installed(torch.dist_version or torch.version, versions.get("torchvision"), versions.get("torchaudio"), torch.installer or "")
    system = read_host()
    prefix = interpreter_prefix(target)
    index = read_pip_index(prefix=prefix)
    mirror = t.mirrors.by_url(index.index_url) if index.index_url else None
    ort_gpu = ort.version if ort.installed == ("onnxruntime-gpu",) else None
    pinned = pin_file(t, installed, torch.cuda, platform_key(system.os, system.arch), mirror, ort_gpu, prefix)
    written = _write(output, pinned.text, force)
    conda = prefix if os.path.isdir(os.path.join(prefix, "conda-meta")) else None
    usages = usage(pinned, str(output), os.path.abspath(output), system.os, mirror, None if python is None else target,
                   conda, installed.installer == "conda")
    emit("pin", chosen_format(fmt, as_json), render.view(str(output), pinned, usages, written), 0)


def _write(path: Path, text: str, force: bool) -> bool:
    """Write the file; False when it holds this text already. A file with other content is replaced
    only with --force: it may be the user's own constraints."""
    try:
        old = path.read_text(encoding="utf-8") if path.exists() else None
    except (OSError, UnicodeDecodeError):
        old = ""
    if old == text:
        return False
    if old is not None and not force:
        raise UserError(f"{path} exists and holds something else: add --force to replace it, or choose another file with --output")
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise UserError(f"{path}: {exc.strerror or exc}; nothing was written") from exc
    return True
