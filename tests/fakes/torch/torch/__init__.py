"""A fake `torch` package (not real torch) for the child-process probe's tests.

With tests/fakes/torch on the child's PYTHONPATH, `import torch` behaves as the JSON spec at
$FAKE_TORCH_SPEC says (tests/fixtures/torch/*.json). "mode": ok | missing | import_error |
abort | hang | segfault reproduces each way the import of a real torch goes wrong on users'
machines; the other keys are the answers of torch.version, torch.cuda and torch.backends.
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
