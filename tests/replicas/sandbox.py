"""An isolated virtual environment in which printed install commands are run for real.

    sb = Sandbox(tmp_path, replicas)
    sb.run(["pip", "install", "torch==2.14.1", "--index-url", "https://download.pytorch.org/whl/cu126"])
    sb.installed()["torch"].version   # "2.14.1+cu126"
    sb.torch_cuda()                   # "12.6"

By hand, the same as: `python -m venv --without-pip venv`, point HOME, XDG_* and the caches at
empty folders, unset every PIP_*/UV_* variable, write venv/pip.conf with the replica as
index-url, then run `python -m pip --python venv/bin/python install ...` or `uv pip install ...`
with VIRTUAL_ENV=venv.

Why each setting (this machine has a user pip.conf with find-links and extra indexes, and
PIP_FIND_LINKS in the environment, all of which pip would otherwise obey):
- HOME, XDG_CONFIG_HOME -> empty folders: pip's user files ($XDG_CONFIG_HOME/pip/pip.conf,
  ~/.pip/pip.conf) and uv's (~/.config/uv/uv.toml) are not read;
- XDG_CONFIG_DIRS -> an empty folder: pip's global files under /etc/xdg are not read
  (/etc/pip.conf still is; here it sets a certificate only);
- PIP_*, UV_*, PYTHONPATH, PYTHONHOME, VIRTUAL_ENV, CONDA_*, *_proxy removed, then a few set;
- venv/pip.conf is pip's "site" file: `[global] index-url` makes the default index replica the
  default, and `pip config set` (no --user/--global) writes there when it exists, so a printed
  `pip config set global.index-url MIRROR` changes later commands as on a real machine;
- UV_INDEX_URL: uv reads no pip.conf, so its default index is set here. Not UV_DEFAULT_INDEX:
  uv 0.13.9 lets --default-index (and its variable) win over --index-url, so with
  UV_DEFAULT_INDEX set a printed `uv pip install ... --index-url URL` silently used the default
  replica instead of URL (observed); UV_INDEX_URL is the variable of --index-url itself, which a
  printed --index-url or --default-index overrides.
The venv has no pip of its own (creating one with pip costs seconds): it imports this
interpreter's pip through a .pth file naming a folder that holds pip alone (a link to its
package), and "pip" runs `venv/bin/python -m pip`, so sys.prefix, the site config and the install
target are the venv's. One process per pip command: `pip --python venv/bin/python`, as before,
starts this interpreter's pip only to re-run it in the venv's, twice the start-up of every command
(most of the proven-commands matrix's time). No other package of this interpreter is visible.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple, Sequence

from tests.pythons import target_python

from .server import Replicas

TIMEOUT_S = 120
WATCHED = ("torch", "torchvision", "torchaudio", "filelock")

_DROP = re.compile(r"^(PIP_|UV_|CONDA_|_CONDA|PYTHONPATH$|PYTHONHOME$|VIRTUAL_ENV$|_PIP_)|_proxy$", re.I)
_PIP = re.compile(r"^pip(3(\.\d+)?)?$")
_PYTHON = re.compile(r"^python(3(\.\d+)?)?$")


class NotRunnable(Exception):
    """A printed command the sandbox cannot run (conda, source, activate, ...)."""

    def __init__(self, argv: Sequence[str]):
        self.argv = list(argv)
        super().__init__(f"not runnable in the sandbox (pip, python and uv only): {' '.join(self.argv)}")


class CommandFailed(Exception):
    """A command exited non-zero (or ran past its timeout: returncode None)."""

    def __init__(self, argv: Sequence[str], command: Sequence[str], returncode: int | None, stdout: str, stderr: str):
        self.argv = list(argv)
        self.command = list(command)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        tail = "\n".join((stdout + "\n" + stderr).strip().splitlines()[-30:])
        what = "timed out" if returncode is None else f"exited {returncode}"
        super().__init__(f"{' '.join(self.argv)} {what}\n  ran: {' '.join(self.command)}\n{tail}")

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class InstalledDist(NamedTuple):
    version: str
    installer: str | None  # the dist-info INSTALLER file: "pip", "uv"


def find_uv() -> str | None:
    try:
        from uv import find_uv_bin
    except ImportError:
        return shutil.which("uv")
    try:
        return find_uv_bin()
    except FileNotFoundError:
        return shutil.which("uv")


class Sandbox:
    """root/venv plus private HOME, config and caches; runs argv lists as a user would."""

    def __init__(self, root: Path, replicas: Replicas, python: str | None = None):
        """`python`: the interpreter the venv is made from (default: a Python 3.11, the one the
        replicas' expectations are written for, tests/pythons.py). Old releases have no cp311
        wheels; a 3.9 venv installs torch 1.8-1.10, for instance."""
        self.root = Path(root)
        self.replicas = replicas
        self.venv = self.root / "venv"
        self.python = str(self.venv / "bin" / "python")
        self.uv = find_uv()
        for sub in ("home/.config", "xdg", "cache", "uv-cache", "work"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [python or target_python(), "-m", "venv", "--without-pip", str(self.venv)],
            check=True,
            capture_output=True,
            env=self._base_env(),
        )
        self.pip_conf.write_text(f"[global]\nindex-url = {replicas.default_index}\n", encoding="utf-8")
        self._link_pip()
        self.env = self._env()

    def _link_pip(self) -> None:
        """Make this interpreter's pip, and nothing else of it, importable in the venv."""
        import pip

        only_pip = self.root / "pip-only"
        only_pip.mkdir()
        (only_pip / "pip").symlink_to(Path(pip.__file__).resolve().parent, target_is_directory=True)
        (site_packages,) = self.venv.glob("lib/python*/site-packages")
        (site_packages / "_sandbox_pip.pth").write_text(f"{only_pip}\n", encoding="utf-8")

    @property
    def pip_conf(self) -> Path:
        """pip's site configuration file (sys.prefix/pip.conf)."""
        return self.venv / "pip.conf"

    def _base_env(self) -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if not _DROP.search(k)}

    def _env(self) -> dict[str, str]:
        env = self._base_env()
        home = self.root / "home"
        env.update(
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_CONFIG_DIRS=str(self.root / "xdg"),
            XDG_CACHE_HOME=str(self.root / "cache"),
            VIRTUAL_ENV=str(self.venv),
            PATH=os.pathsep.join([str(self.venv / "bin"), env.get("PATH", "")]),
            PIP_DISABLE_PIP_VERSION_CHECK="1",
            PIP_NO_INPUT="1",
            PIP_ROOT_USER_ACTION="ignore",
            UV_CACHE_DIR=str(self.root / "uv-cache"),
            UV_NO_CONFIG="1",
            UV_PYTHON_DOWNLOADS="never",
            UV_NO_PROGRESS="1",
            UV_INDEX_URL=self.replicas.default_index,
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
        )
        return env

    # -- running -------------------------------------------------------------------------------
    def command(self, argv: Sequence[str]) -> list[str]:
        """What run() executes for argv: URLs rewritten to the replicas, the program mapped.

        NotRunnable before ValueError: a conda line is unrunnable whatever its URLs.
        """
        if not argv:
            raise NotRunnable(argv)
        prog, rest = os.path.basename(argv[0]), list(argv[1:])
        if _PYTHON.match(prog) and rest[:2] == ["-m", "pip"]:
            prog, rest = "pip", rest[2:]  # `python -m pip`: the venv has no pip of its own
        if _PIP.match(prog):
            head = [self.python, "-m", "pip"]
        elif _PYTHON.match(prog):
            head = [self.python]
        elif prog == "uv" and self.uv:
            head = [self.uv]
        else:
            raise NotRunnable(argv)
        return head + self.replicas.rewrite(rest)

    def run(self, argv: Sequence[str], *, check: bool = True, timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess:
        cmd = self.command(argv)
        try:
            proc = subprocess.run(
                cmd, env=self.env, cwd=self.root / "work", capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
            err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else exc.stderr or ""
            raise CommandFailed(argv, cmd, None, out, err) from None
        if check and proc.returncode != 0:
            raise CommandFailed(argv, cmd, proc.returncode, proc.stdout, proc.stderr)
        return proc

    def python_eval(self, code: str) -> str:
        """stdout of `python -I -c code` in the venv, stripped."""
        return self.run(["python", "-I", "-c", code]).stdout.strip()

    # -- state ---------------------------------------------------------------------------------
    def install_state(self, requirements: Sequence[str], index: str | None = None) -> subprocess.CompletedProcess:
        """Seed a starting state with pip, e.g. (["torch==2.14.1+cpu"], "https://download.pytorch.org/whl/cpu").

        `index` is a real URL (rewritten to its replica); None means the default index replica.
        """
        argv = ["pip", "install", *requirements]
        if index is not None:
            argv += ["--index-url", index]
        return self.run(argv)

    def installed(self) -> dict[str, InstalledDist]:
        """torch, torchvision, torchaudio and filelock as the venv's importlib.metadata sees them."""
        code = (
            "import json, importlib.metadata as md\n"
            "out = {}\n"
            f"for name in {list(WATCHED)!r}:\n"
            "    try:\n"
            "        d = md.distribution(name)\n"
            "    except md.PackageNotFoundError:\n"
            "        continue\n"
            "    out[name] = [d.version, (d.read_text('INSTALLER') or '').strip() or None]\n"
            "print(json.dumps(out))\n"
        )
        data = json.loads(self.python_eval(code))
        return {name: InstalledDist(*value) for name, value in data.items()}

    def torch_cuda(self) -> str | None:
        """torch.version.cuda as the venv imports it (None for a CPU or ROCm build)."""
        return json.loads(self.python_eval("import json, torch; print(json.dumps(torch.version.cuda))"))
