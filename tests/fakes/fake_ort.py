"""Install the fake onnxruntime-gpu (tests/fakes/onnxruntime) for one test: in this process, where
`envcheck onnx` runs its sessions, and in every child it starts, where the probes read ONNX
Runtime. It wraps the real CPU build, so a test that uses it skips where none is installed."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

FAKE = Path(__file__).parent / "onnxruntime"
TORCH = Path(__file__).parent / "torch"


def install(monkeypatch, tmp_path: Path, spec: dict, also: tuple = ()):
    """The fake as `spec` says (keys: tests/fakes/onnxruntime/onnxruntime/__init__.py); `also`:
    more folders for the children's PYTHONPATH, after the fake's."""
    real = pytest.importorskip("onnxruntime")
    if real.__name__ != "onnxruntime" or getattr(real, "SPEC", None) is not None:
        raise AssertionError("a fake onnxruntime from an earlier test is still installed")
    path = tmp_path / "fake_ort_spec.json"
    path.write_text(json.dumps(spec))
    monkeypatch.setenv("FAKE_ORT_SPEC", str(path))
    monkeypatch.setenv("FAKE_ORT_SITE", str(Path(real.__file__).parent.parent))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(FAKE), *map(str, also), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    monkeypatch.setitem(sys.modules, "_envcheck_real_onnxruntime", real)
    found = importlib.util.spec_from_file_location("onnxruntime", FAKE / "onnxruntime" / "__init__.py")
    fake = importlib.util.module_from_spec(found)
    monkeypatch.setitem(sys.modules, "onnxruntime", fake)
    found.loader.exec_module(fake)
    return fake
