"""The default path of install-cmd and doctor opens no network connection, and --offline neither:
measured in a real process whose sitecustomize records every socket connect/lookup (an audit hook,
PEP 578) and refuses it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HOOK = '''
import os, sys

def _no_network(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.sendto"):
        with open(os.environ["ENVCHECK_TEST_SOCKETS"], "a") as fh:
            fh.write(f"{event} {args!r}\\n")
        raise OSError("network use recorded by the test's audit hook")

sys.addaudithook(_no_network)

# The recorded machine (tests/fakes/site), so that the answers do not depend on this one.
import runpy
runpy.run_path(os.environ["ENVCHECK_TEST_FAKE_SITE"])
'''

ROOT = Path(__file__).resolve().parent.parent
FAKES = ROOT / "tests" / "fakes"


def _run(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(HOOK, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    # A machine without a driver and the fake CPU build of torch: the same answer, and exit code,
    # on every machine that runs the tests.
    env.update(PYTHONPATH=os.pathsep.join([str(site), str(ROOT), str(FAKES / "torch")]), ENVCHECK_TEST_SOCKETS=str(tmp_path / "sockets.log"),
               XDG_CACHE_HOME=str(tmp_path / "cache"), ENVCHECK_FAKE_MACHINE="no_driver", ENVCHECK_TEST_FAKE_SITE=str(FAKES / "site" / "sitecustomize.py"),
               FAKE_TORCH_SPEC=str(ROOT / "tests" / "fixtures" / "torch" / "cpu_build.json"))
    done = subprocess.run([sys.executable, "-m", "envcheck", *args], capture_output=True, text=True, env=env, timeout=300)
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("args, answer", [
    (("install-cmd",), "pip install torch=="),  # no driver: the CPU build
    (("install-cmd", "--offline"), "pip install torch=="),
    (("install-cmd", "--mirror", "sjtu", "--cuda", "12.6"), 'assert torch.version.cuda == "12.6"'),
    (("doctor",), "verdict: all good"),  # the CPU build of torch on a machine without a GPU
    (("doctor", "--offline", "--no-torch"), "verdict: all good"),
])
def test_no_socket_is_opened(tmp_path, args, answer):
    code, out, err = _run(tmp_path, *args)
    expected = 0
    if args == ("doctor",) and not _fake_torch_has_wheels_here():  # the CI's Python 3.9 pass: doctor is right to warn
        expected, answer = 1, "warn python-unsupported: torch 2.13.0 has no wheels for Python"
    assert code == expected and "Traceback" not in err, (code, err)
    assert answer in out  # it did its work
    assert not (tmp_path / "sockets.log").exists(), (tmp_path / "sockets.log").read_text()


def test_the_hook_does_see_a_connection(tmp_path):
    """The measurement can fail: --check-index does connect (and here is refused, in one line)."""
    code, out, err = _run(tmp_path, "install-cmd", "--cpu", "--python", "3.12", "--os", "linux", "--arch", "x86_64", "--check-index")
    assert (tmp_path / "sockets.log").exists()
    assert code == 1 and "could not check the index" in err and "pip install torch==" in out


def _fake_torch_has_wheels_here() -> bool:
    """Whether PyTorch published torch 2.13.0 (the fake's release) for this Python, by compat/torch.toml."""
    from envcheck.compat import Tables

    return "%d.%d" % sys.version_info[:2] in Tables().releases.get("2.13.0").pythons("linux")
