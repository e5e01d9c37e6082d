"""torch.cuda of the fake: availability, devices and arch list from the spec.

With "visible_from_env": true, CUDA_VISIBLE_DEVICES picks devices as the CUDA runtime does:
comma-separated indices or UUIDs (a device's "uuid", or a unique prefix of it), stopping at the
first invalid entry; "" hides all. Indices count in the spec's order (CUDA's fastest-first),
or by "pci" bus id under CUDA_DEVICE_ORDER=PCI_BUS_ID.
"""

import os
from types import SimpleNamespace

from torch._compute import Event  # noqa: F401  (bench times its GPU work with it)
from torch._fake import SPEC, emit


def _visible():
    devices = SPEC.get("devices", [])
    if os.environ.get("CUDA_DEVICE_ORDER") == "PCI_BUS_ID" and all("pci" in d for d in devices):
        devices = sorted(devices, key=lambda d: d["pci"])
    value = os.environ.get("CUDA_VISIBLE_DEVICES")
    if not SPEC.get("visible_from_env") or value is None:
        return devices
    chosen = []
    for item in value.split(","):
        item = item.strip()
        if item.isdigit() and int(item) < len(devices):
            chosen.append(devices[int(item)])
            continue
        named = [d for d in devices if item and d.get("uuid", "").lower().startswith(item.lower())]
        if len(named) != 1:
            break
        chosen.append(named[0])
    return chosen


def empty_cache():
    pass



def is_available():
    emit("is_available")
    return bool(SPEC.get("cuda") and SPEC.get("cuda_available")) and bool(_visible())


def device_count():
    return len(_visible()) if is_available() else 0


def get_arch_list():
    # Real torch answers [] whenever CUDA is not available, whatever the build holds.
    return list(SPEC.get("arch_list", [])) if is_available() else []


def _lazy_init():
    if not SPEC.get("cuda"):
        raise AssertionError("Torch not compiled with CUDA enabled")
    if not is_available():
        raise RuntimeError("No CUDA GPUs are available")
    emit("lazy_init")


def get_device_properties(device=None):
    _lazy_init()
    index = 0 if device is None else int(getattr(device, "index", device) or 0)
    visible = _visible()
    if index < 0 or index >= len(visible):
        raise AssertionError("Invalid device id")
    spec = visible[index]
    if spec.get("fail"):
        raise RuntimeError(spec["fail"])
    major, minor = spec.get("capability", [0, 0])
    return SimpleNamespace(name=spec.get("name", ""), major=major, minor=minor, total_memory=spec.get("total_memory", 0))


def get_device_name(device=None):
    return get_device_properties(device).name


def get_device_capability(device=None):
    props = get_device_properties(device)
    return props.major, props.minor
