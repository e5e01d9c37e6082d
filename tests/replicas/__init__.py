"""Local replicas of the package indexes, and a sandbox that runs printed install commands.

Real pip and real uv install stub wheels (wheels.py) generated from compat/ (model.py) from
replicas served on 127.0.0.1 (server.py), into an isolated virtual environment (sandbox.py).
"""

from .model import PYTORCH_URL, File, Page, Redirect, ReplicaModel, Site, map_url, url_rules
from .sandbox import CommandFailed, InstalledDist, NotRunnable, Sandbox, find_uv
from .server import Replicas, Served
from .wheels import WheelSpec, build_wheel, companion_wheel, filelock_wheel, torch_wheel

__all__ = [
    "PYTORCH_URL",
    "CommandFailed",
    "File",
    "InstalledDist",
    "NotRunnable",
    "Page",
    "Redirect",
    "ReplicaModel",
    "Replicas",
    "Sandbox",
    "Served",
    "Site",
    "WheelSpec",
    "build_wheel",
    "companion_wheel",
    "filelock_wheel",
    "find_uv",
    "map_url",
    "torch_wheel",
    "url_rules",
]
