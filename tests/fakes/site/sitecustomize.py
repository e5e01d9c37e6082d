"""Replay a recorded machine's NVML in every Python process started with this folder on PYTHONPATH.

For tests that run whole programs (benchmarks/gpu_acceptance.sh) rather than functions: with
ENVCHECK_FAKE_MACHINE=<name of tests/fixtures/machines/*.json>, each interpreter that imports site
swaps pynvml's functions for the recording's answers, as the `machine` fixture does in-process.
envcheck itself has no switch for this. Without the variable, nothing happens.
"""

import os
import sys

if os.environ.get("ENVCHECK_FAKE_MACHINE"):
    try:
        import pytest

        from tests.fakes.fake_nvml import FakeNvml, load_machine

        FakeNvml(load_machine(os.environ["ENVCHECK_FAKE_MACHINE"])).install(pytest.MonkeyPatch())
    except Exception as exc:  # a broken fake must be loud, not silently the real machine
        sys.stderr.write(f"tests/fakes/site: could not install the fake NVML: {type(exc).__name__}: {exc}\n")
        raise
