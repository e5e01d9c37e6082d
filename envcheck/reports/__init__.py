"""Readers of report texts (collect_env, nvidia-smi output, envcheck JSON, error lines) into a snapshot.

Pure functions of text: `doctor --from` and `diff` read pastes with them, the live nvidia-smi
fallback reads command output. Whatever a report does not contain is Unavailable("not_in_report").
"""

from __future__ import annotations

from envcheck.errors import UserError


class ReportError(UserError, ValueError):
    """The text is not in the format it claims to be; the message names the problem (exit 2)."""


def partial_snapshot(**parts):
    """A snapshot of only the parts a report shows; the rest says it was not in the report."""
    from envcheck.snapshot.model import (
        SCHEMA_VERSION,
        CudaEnv,
        DriverInfo,
        OnnxRuntime,
        PythonEnv,
        Snapshot,
        System,
        Toolkit,
        Unavailable,
    )

    missing = Unavailable("not_in_report", "the report does not say")
    defaults = {
        "system": System("unknown", "unknown", "", "", "", 0, missing, None, False, ""),
        "python": PythonEnv("unknown", "", None, None, missing),
        "driver": DriverInfo(missing, missing, missing, source="report"),
        "toolkit": Toolkit(missing, None, None, ()),
        "cuda_env": CudaEnv(None, None, None),
        "torch": missing,
        "packages": (),
        "onnxruntime": OnnxRuntime(),
    }
    return Snapshot(schema_version=SCHEMA_VERSION, **{**defaults, **parts})


def read_report(text: str, tables=None):
    """Recognise what the text holds and read all of it (reports/read.py); ReportError names what
    was expected."""
    from envcheck.reports.read import (
        read_report as read,  # the readers stay off install-cmd's start-up path
    )

    return read(text, tables)
