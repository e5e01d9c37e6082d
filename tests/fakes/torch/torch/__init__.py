"""A fake `torch` package (not real torch) for the child-process probe's tests.

With tests/fakes/torch on the child's PYTHONPATH, `import torch` behaves as the JSON spec at
$FAKE_TORCH_SPEC says (tests/fixtures/torch/*.json). "mode": ok | missing | import_error |
abort | hang | segfault reproduces each way the import of a real torch goes wrong on users'
machines; the other keys are the answers of torch.version, torch.cuda and torch.backends.
Noisy imports: "print_no_newline" writes its text to fd 1 as a C library would, with no newline;
"stderr_flood" writes that many bytes to fd 2 as fast as it can; "orphan_grandchild" names a file
where the import writes the pid of a process it starts and leaves holding stdout and stderr.
"""

import os
import signal
import time

from torch._fake import SPEC, emit, map_files


def _no_core_dump():
    # An abort or segfault must not leave a core file in the test's working directory.
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, OSError, ValueError):
        pass


def _noise():
    if SPEC.get("print_no_newline"):
        os.write(1, SPEC["print_no_newline"].encode())
    left = int(SPEC.get("stderr_flood", 0))
    block = b"x" * 65535 + b"\n"
    while left > 0:
        left -= os.write(2, block[:left])
    if SPEC.get("orphan_grandchild"):
        import subprocess
        import sys

        # inherits fds 1 and 2, stays in the probe's process group, and outlives the import
        grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], stdout=1, stderr=2)
        with open(SPEC["orphan_grandchild"], "w") as fh:
            fh.write(str(grandchild.pid))


_noise()
_mode = SPEC.get("mode", "ok")
if _mode == "missing":
    raise ModuleNotFoundError("No module named 'torch'", name="torch")
if _mode == "import_error":
    raise ImportError(SPEC.get("message", "fake torch: import failed"))
if _mode == "abort":
    _no_core_dump()
    os.abort()
if _mode == "segfault":
    _no_core_dump()
    os.kill(os.getpid(), signal.SIGSEGV)
    time.sleep(5)
if _mode == "hang":
    while True:
        time.sleep(3600)

__version__ = SPEC.get("version", "0.0.0")

from torch import backends, cuda, version  # noqa: E402,F401  (real torch imports these too)
from torch._compute import (  # noqa: E402,F401  (bench's matmul and memory suites)
    Event,
    Generator,
    Tensor,
    bfloat16,
    device,
    empty,
    equal,
    float16,
    float32,
    mm,
    ones,
    randn,
    set_num_threads,
)

map_files()
emit("import")
