"""install-cmd's start-up is held by this test, not by where imports happen to sit.

docs/DESIGN.md, "Performance targets": install-cmd imports nothing heavy and starts within 1.5x of
`python -c "import typer, rich"` (benchmarks/startup.py measures the time). Time is too noisy to
assert in a unit test; the set of modules the command imports is not. Every module it imports must
be named below: a new import on its path (rich, pynvml, the checks, doctor's renderer, ...) fails
here until someone decides it belongs there and adds it to the list.

The list is read from sys.modules when the command exits, not from `python -X importtime`, which
leaves out the modules imported through importlib.import_module (cli/app.py imports the command's
module that way) and so would miss an import added at the top of cli/install_cmd.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from envcheck.probes.nvml import nvml_library_present

ROOT = Path(__file__).resolve().parent.parent

# envcheck's modules on the path, each with whatever lies below it. Packages being reorganised are
# named by prefix (envcheck.install, envcheck.compat): a module moved inside one needs no change here.
ENVCHECK_TREES = {
    "envcheck.cli.app",
    "envcheck.cli.doctor_flags",
    "envcheck.cli.entry",
    "envcheck.cli.install_cmd",
    "envcheck.cli.options",
    "envcheck.cli.streams",
    "envcheck.compat",
    "envcheck.errors",
    "envcheck.files",
    "envcheck.install",
    "envcheck.numbers",
    "envcheck.probes.child_output",
    "envcheck.probes.children",
    "envcheck.probes.host",
    "envcheck.probes.installed",
    "envcheck.probes.kernel_module",
    "envcheck.probes.nvidia_smi",
    "envcheck.probes.nvml",
    "envcheck.probes.nvml_query",
    "envcheck.probes.pci",
    "envcheck.probes.timeout",
    "envcheck.redact",
    "envcheck.shell",
    "envcheck.render.console",
    "envcheck.render.install",
    "envcheck.render.output",
    "envcheck.reports.nvidia_smi_csv",
    "envcheck.reports.nvidia_smi_values",
    "envcheck.snapshot.facts",
    "envcheck.terminal_text",  # render.console cleans every character it writes (stdlib re only)
    "envcheck.versions",
}
# Packages whose __init__ runs on the way to a module above, without their other modules.
ENVCHECK_PACKAGES = {"envcheck", "envcheck.cli", "envcheck.probes", "envcheck.render", "envcheck.reports", "envcheck.snapshot"}

# Top-level names outside envcheck: typer and what it brings (click on older typers, colorama on
# Windows), tomli where tomllib is missing (Python < 3.11), and the standard library modules the
# path imports today on Python 3.9 to 3.13. Private modules (a leading underscore: C accelerators, importlib internals)
# follow their public module and are not listed.
THIRD_PARTY = {"annotated_doc", "click", "colorama", "shellingham", "tomli", "typer", "typing_extensions"}
STDLIB = set("""
    abc argparse ast atexit bisect builtins bz2 codecs collections contextlib copy copyreg csv
    dataclasses datetime difflib dis encodings enum errno fcntl fnmatch functools genericpath gettext
    glob grp heapq importlib inspect io ipaddress itertools json keyword linecache locale lzma marshal math
    msvcrt nt ntpath opcode operator os pathlib pkgutil platform posix posixpath pwd re reprlib runpy select
    selectors shlex shutil signal site sre_compile sre_constants sre_parse stat string struct subprocess sys textwrap threading time token
    tokenize tomllib traceback types typing urllib uuid warnings weakref winreg zipimport zlib
""".split())

_DUMP = (
    "import atexit, sys\n"
    "atexit.register(lambda: sys.__stderr__.write('MODULES ' + ' '.join(sorted(sys.modules)) + '\\n'))\n"
    "sys.argv = ['envcheck', *sys.argv[1:]]\n"
    "import runpy\n"
    "runpy.run_module('envcheck', run_name='__main__', alter_sys=True)\n"
)


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def _modules(code: str, *args: str) -> set:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("MODULES ")]
    assert lines, done.stderr
    return set(lines[-1].split()[1:])


def _bare_interpreter() -> set:
    """What this interpreter imports before any code of ours: site, its .pth hooks, encodings."""
    return _modules("import sys; sys.stderr.write('MODULES ' + ' '.join(sorted(sys.modules)) + '\\n')")


def not_allowed(modules: set, baseline: set, nvml: bool) -> list:
    """The modules outside the lists above; pynvml counts as allowed only where the NVML library
    loads, since install-cmd then asks the driver through it (envcheck/probes/nvml.py)."""
    outside = []
    for name in sorted(modules - baseline):
        top = name.split(".")[0]
        if name.startswith("envcheck"):
            ok = name in ENVCHECK_PACKAGES or any(name == t or name.startswith(t + ".") for t in ENVCHECK_TREES)
        else:
            ok = top.startswith("_") or top in THIRD_PARTY or top in STDLIB or (nvml and top == "pynvml")
        if not ok:
            outside.append(name)
    return outside


def test_install_cmd_imports_only_what_its_path_needs():
    _modules(_DUMP, "install-cmd", "--cuda", "12.1")  # the first run may rewrite a stale table cache (tempfile)
    modules = _modules(_DUMP, "install-cmd", "--cuda", "12.1")  # the path every later run takes
    assert "envcheck.cli.install_cmd" in modules  # the command ran
    assert not_allowed(modules, _bare_interpreter(), nvml_library_present()) == []


def test_the_lists_catch_a_heavy_import():
    """The check itself: names a heavy import would bring are outside the lists."""
    heavy = {"rich", "rich.console", "pynvml", "torch", "numpy", "envcheck.checks", "envcheck.render.doctor",
             "envcheck.probes.collect", "envcheck.snapshot.model", "envcheck.cli.doctor_cmd", "asyncio"}
    assert not_allowed(heavy, set(), nvml=False) == sorted(heavy)
    assert not_allowed({"pynvml"}, set(), nvml=True) == []
