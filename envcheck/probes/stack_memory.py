"""The torch stack doctor last found healthy, per environment: read before the checks run and
written after a healthy run, so that a later `pip install -r requirements.txt` that swaps the CUDA
build for a CPU one is named as the change it is (checks/memory.py).

One JSON file in envcheck's state directory (`stacks.json`, 0600 in a 0700 directory), keyed by
the interpreter's sys.prefix. A file that is missing, unreadable or not envcheck's is no memory:
doctor never fails for it. `doctor --from` reads a report, not an environment: it uses none of this.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from envcheck.compat.paths import state_dir
from envcheck.files import private_dir, write_atomic
from envcheck.snapshot.model import RememberedStack

FILE = "stacks.json"
_KEEP = 64  # environments remembered; the ones seen longest ago go first


def memory_file(env=os.environ) -> Path:
    return state_dir(env) / FILE


def _load(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    envs = data.get("environments") if isinstance(data, dict) else None
    return envs if isinstance(envs, dict) else {}


def read_remembered(prefix: str, env=os.environ) -> RememberedStack | None:
    """The stack last found healthy in the environment at `prefix`, None when there is none."""
    row = _load(memory_file(env)).get(os.path.normcase(os.path.abspath(prefix)))
    if not isinstance(row, dict) or not isinstance(row.get("torch"), str):
        return None
    text = {k: row.get(k) if isinstance(row.get(k), str) else None for k in ("cuda", "torchvision", "torchaudio")}
    return RememberedStack(row["torch"], text["cuda"], text["torchvision"], text["torchaudio"], str(row.get("seen") or ""))


def remember(prefix: str, stack: RememberedStack, env=os.environ) -> bool:
    """Record `stack` as the environment's healthy one; False when the state directory cannot be
    written (a read-only home): the report is the same without it."""
    path = memory_file(env)
    envs = _load(path)
    envs[os.path.normcase(os.path.abspath(prefix))] = {
        "torch": stack.torch, "cuda": stack.cuda, "torchvision": stack.torchvision, "torchaudio": stack.torchaudio,
        "seen": stack.seen,
    }
    newest = sorted(envs.items(), key=lambda kv: str(kv[1].get("seen", "")) if isinstance(kv[1], dict) else "")[-_KEEP:]
    try:
        private_dir(path.parent)
        write_atomic(path, json.dumps({"version": 1, "environments": dict(newest)}, indent=1) + "\n", mode=0o600)
    except OSError:
        return False
    return True
