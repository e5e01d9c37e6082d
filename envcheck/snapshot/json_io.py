"""Snapshots to and from JSON: `doctor --save` writes one, `doctor --from` (envcheck's own JSON) reads it."""

from __future__ import annotations

import re
from dataclasses import fields, is_dataclass, replace
from functools import lru_cache
from typing import Union, get_args, get_origin, get_type_hints

from envcheck.errors import UserError
from envcheck.numbers import finite_data
from envcheck.redact import redact_data
from envcheck.snapshot.model import (
    SCHEMA_VERSION,
    CudaEnv,
    DriverInfo,
    GpuInfo,
    GpuProcess,
    MigDevice,
    OnnxRuntime,
    Package,
    Pasted,
    ProviderLoad,
    PythonEnv,
    Snapshot,
    System,
    Toolkit,
    Torch,
    TorchDevice,
    Unavailable,
    jsonable,
)
from envcheck.versions import is_driver_version

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
    (GpuInfo, "mig_devices"): MigDevice,
    (MigDevice, "processes"): GpuProcess,
    (Torch, "devices"): TorchDevice,
    (OnnxRuntime, "loads"): ProviderLoad,
}


def dump(snapshot: Snapshot) -> dict:
    """The snapshot as JSON data for --save: secrets masked, no NaN (strict JSON)."""
    return finite_data(redact_data(jsonable(snapshot)))


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
    """A Snapshot from its JSON form; a wrong schema or shape is a user error (a file from elsewhere,
    or edited by hand), named by the path of the first wrong value."""
    if not isinstance(data, dict) or "schema_version" not in data or "system" not in data:
        raise UserError("not an envcheck snapshot: it has no schema_version/system keys")
    version = data["schema_version"]
    if not isinstance(version, int) or isinstance(version, bool):
        raise UserError(f"not an envcheck snapshot: schema_version is {version!r}, not a number")
    if version > SCHEMA_VERSION:
        raise UserError(f"snapshot schema {version} is newer than this envcheck reads ({SCHEMA_VERSION}): upgrade envcheck")
    try:
        snapshot = _build(Snapshot, data)
    except (TypeError, AttributeError) as exc:
        raise UserError(f"not a complete envcheck snapshot: {exc}") from exc
    problem = _shape(snapshot, "snapshot")
    if problem:
        raise UserError(f"not an envcheck snapshot: {problem}")
    return well_formed(snapshot)


_CC = re.compile(r"^[0-9]{1,2}\.[0-9]{1,2}[a-z]?$")


def well_formed(snapshot: Snapshot) -> Snapshot:
    """A snapshot from outside (a saved file, a report) with every version and capability the checks
    compare in the form they compare: a value that is not ('0', '', 'zz') becomes unknown, with the
    reason, instead of breaking a comparison."""

    def cc(value, where: str):
        if isinstance(value, str) and not _CC.match(value):
            return Unavailable("malformed", f"{where} {value!r} in the report is not a compute capability")
        return value

    d = snapshot.driver
    if isinstance(d.driver_version, str) and not is_driver_version(d.driver_version):
        d = replace(d, driver_version=Unavailable("malformed", f"the report's driver version {d.driver_version!r} is not one"))
    if isinstance(d.gpus, tuple):
        d = replace(d, gpus=tuple(replace(g, compute_capability=cc(g.compute_capability, "compute capability")) for g in d.gpus))
    t = snapshot.torch
    if isinstance(t, Torch):
        devices = tuple(x for x in t.devices if isinstance(x.capability, str) and _CC.match(x.capability))
        minimum = t.min_capability if t.min_capability is None or _CC.match(t.min_capability) else None
        t = replace(t, devices=devices, min_capability=minimum)
    return replace(snapshot, driver=d, torch=t)


@lru_cache(maxsize=None)
def _allowed(cls: type) -> dict:
    """field -> the runtime types its annotation allows (Union[str, Unavailable] -> (str, Unavailable))."""
    out = {}
    for name, hint in get_type_hints(cls).items():
        args = get_args(hint) if get_origin(hint) is Union else (hint,)
        types = tuple(get_origin(a) or a for a in args)
        if float in types:
            types += (int,)
        out[name] = types
    return out


def _shape(obj, where: str) -> str:
    """'' when every field holds a value of its declared type, else the first that does not."""
    for name, types in _allowed(type(obj)).items():
        value = getattr(obj, name)
        path = f"{where}.{name}"
        if isinstance(value, bool) and bool not in types:
            return f"{path} is {value!r}"
        if not isinstance(value, types):
            return f"{path} is {type(value).__name__} {str(value)[:40]!r}, not {' or '.join(t.__name__ for t in types)}"
        if is_dataclass(value):
            problem = _shape(value, path)
            if problem:
                return problem
        elif isinstance(value, tuple):
            inner = _NESTED.get((type(obj), name))
            for i, item in enumerate(value):
                if inner is not None and not isinstance(item, inner):
                    return f"{path}[{i}] is not an object"
                if inner is not None:
                    problem = _shape(item, f"{path}[{i}]")
                elif not isinstance(item, str):
                    problem = f"{path}[{i}] is not a string"
                else:
                    problem = ""
                if problem:
                    return problem
        elif isinstance(value, dict) and not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            return f"{path} holds more than strings"
    return ""
