"""The fake torch's spec, read once from the JSON file named by $FAKE_TORCH_SPEC."""

import json
import mmap
import os
import warnings

_PATH = os.environ.get("FAKE_TORCH_SPEC")
if not _PATH:
    raise ImportError("fake torch: set FAKE_TORCH_SPEC to a spec file (tests/fixtures/torch/*.json)")
with open(_PATH) as _fh:
    SPEC = json.load(_fh)

_emitted = set()
_mapped = []  # keep the maps alive, as the dynamic loader keeps a library mapped


def emit(stage):
    """Emit the spec's warnings once, at the stage real torch emits them: "import",
    "is_available" (cudaGetDeviceCount failing: "CUDA initialization: ...") or "lazy_init"
    (the first device query: "... is not compatible with the current PyTorch installation")."""
    if SPEC.get("warn_at", "is_available") != stage or stage in _emitted:
        return
    _emitted.add(stage)
    for text in SPEC.get("warnings", []):
        warnings.warn(text, UserWarning, stacklevel=3)


def map_files():
    """mmap the spec's "map_files", so they show in /proc/self/maps as loaded libraries do."""
    for path in SPEC.get("map_files", []):
        with open(path, "rb") as fh:
            _mapped.append(mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ))
