"""Snapshots to and from JSON: `doctor --save` writes one, `doctor --from` (envcheck's own JSON) reads it."""

from __future__ import annotations

from dataclasses import fields

from envcheck.errors import UserError
from envcheck.snapshot import (
    SCHEMA_VERSION,
    CudaEnv,
    DriverInfo,
    GpuInfo,
    GpuProcess,
    OnnxRuntime,
    Package,
    Pasted,
    PythonEnv,
    Snapshot,
    System,
    Toolkit,
    Torch,
    TorchDevice,
    Unavailable,
    jsonable,
)

# Which dataclass each nested field holds (lists of them included).
_NESTED = {
    (Snapshot, "system"): System,
    (Snapshot, "python"): PythonEnv,
    (Snapshot, "driver"): DriverInfo,
    (Snapshot, "toolkit"): Toolkit,
    (Snapshot, "cuda_env"): CudaEnv,
    (Snapshot, "torch"): Torch,
    (Snapshot, "packages"): Package,
    (Snapshot, "onnxruntime"): OnnxRuntime,
    (Snapshot, "pasted"): Pasted,
    (DriverInfo, "gpus"): GpuInfo,
    (GpuInfo, "processes"): GpuProcess,
    (Torch, "devices"): TorchDevice,
}


def dump(snapshot: Snapshot) -> dict:
    return jsonable(snapshot)


def _value(owner: type, name: str, raw):
    if isinstance(raw, dict) and "unavailable" in raw:
        return Unavailable(raw["unavailable"], raw.get("reason", ""))
    inner = _NESTED.get((owner, name))
    if isinstance(raw, list):
        return tuple(_build(inner, x) if inner and isinstance(x, dict) else _value(owner, name, x) for x in raw)
    if inner and isinstance(raw, dict):
        return _build(inner, raw)
    return raw


def _build(cls: type, raw: dict):
    known = {f.name for f in fields(cls)}
    return cls(**{k: _value(cls, k, v) for k, v in raw.items() if k in known})


def load(data: dict) -> Snapshot:
    """A Snapshot from its JSON form; a wrong schema is a user error (a file from elsewhere)."""
    if not isinstance(data, dict) or "schema_version" not in data or "system" not in data:
        raise UserError("not an envcheck snapshot: it has no schema_version/system keys")
    if data["schema_version"] > SCHEMA_VERSION:
        raise UserError(f"snapshot schema {data['schema_version']} is newer than this envcheck reads ({SCHEMA_VERSION}): upgrade envcheck")
    try:
        return _build(Snapshot, data)
    except TypeError as exc:
        raise UserError(f"not a complete envcheck snapshot: {exc}") from exc
