"""Plan a working PyTorch install: check the request, choose a release and build, spell the commands.

Pure functions of (machine, request, tables): no probing, no printing. The solver walks the
releases newest first and takes the first one with a build that runs here — the driver can load
its CUDA runtime (fully, or through minor-version compatibility), every GPU's compute
capability is in its wheels, and it has wheels for the target Python and platform. Commands
reproduce PyTorch's official ones exactly when no mirror is asked for.

request.py checks every argument up front (Target, Sources); choose.py picks the build (a Choice,
its rejections as data); plan.py spells it with commands.py; judge.py says whether one build runs
on the machine (machine.py). Errors are facts (errors.py); the CLI words them with its flags.
This package is on install-cmd's start-up path: it imports no rich, typer or probes (pyproject).
"""

from envcheck.compat import PYTORCH_HOST, platform_key
from envcheck.install.choose import Choice, Rejection, choose
from envcheck.install.commands import (
    Install,
    Pin,
    Step,
    conda_install,
    conda_mirror_argv,
    from_default_index,
    official_install,
    official_pip,
    official_pip_lines,
    pip_install,
    quote,
    verify_argv,
)
from envcheck.install.errors import (
    BadRequest,
    CarrierLacksBuild,
    NoBuildFits,
    NotACarrier,
    UnknownMirror,
    UnknownRelease,
)
from envcheck.install.judge import runs_here
from envcheck.install.machine import (
    ARCHES,
    OSES,
    Machine,
    TargetGpu,
    machine_from,
    target_of,
)
from envcheck.install.plan import Plan, solve, spell
from envcheck.install.request import (
    MANAGERS,
    Problem,
    Request,
    Sources,
    Target,
    resolve,
)
from envcheck.snapshot.facts import Installed

__all__ = [
    "ARCHES", "MANAGERS", "OSES", "PYTORCH_HOST", "BadRequest", "CarrierLacksBuild", "Choice", "Install", "Installed",
    "Machine", "NoBuildFits", "NotACarrier", "Pin", "Plan", "Problem", "Rejection", "Request", "Sources", "Step", "Target",
    "TargetGpu", "UnknownMirror", "UnknownRelease", "choose", "conda_install", "conda_mirror_argv", "from_default_index",
    "machine_from", "official_install", "official_pip", "official_pip_lines", "pip_install", "platform_key", "quote",
    "resolve", "runs_here", "solve", "spell", "target_of", "verify_argv",
]
