"""Environment checks: which GPUs CUDA_VISIBLE_DEVICES lets through, and which index pip uses."""

from __future__ import annotations

from envcheck.checks.findings import Finding
from envcheck.snapshot.model import Snapshot, known
from envcheck.visible_devices import cuda_devices, label


def check_cuda_visible_devices(s: Snapshot, tables) -> list[Finding]:
    value = s.cuda_env.cuda_visible_devices
    gpus = s.driver.gpus
    if value is None or not known(gpus):
        return []
    shown, problem = cuda_devices(value, gpus, s.driver.driver_version)
    usable = cuda_devices(None, gpus, s.driver.driver_version)[0]  # what CUDA enumerates with the variable unset
    facts = {"CUDA_VISIBLE_DEVICES": value, "gpus": len(usable), "visible": [label(d) for d in shown]}
    if problem:
        return [Finding("cuda-hidden", "error", "driver", f"CUDA_VISIBLE_DEVICES={value!r} is malformed: {problem}", facts,
                        fix="unset CUDA_VISIBLE_DEVICES")]
    if not shown and usable:
        return [Finding("cuda-hidden", "warn", "driver", f"CUDA_VISIBLE_DEVICES={value!r} hides every GPU: torch sees none", facts,
                        fix="unset CUDA_VISIBLE_DEVICES")]
    if len(shown) < len(usable) and all(d.mig is None for d in usable):
        hidden = [d.gpu for d in usable if d not in shown]
        order = "" if s.cuda_env.cuda_device_order == "PCI_BUS_ID" else " (set CUDA_DEVICE_ORDER=PCI_BUS_ID so CUDA numbers GPUs as nvidia-smi does)"
        return [Finding("cuda-hidden", "info", "driver",
                        f"CUDA_VISIBLE_DEVICES={value!r} shows GPUs {[d.gpu for d in shown]} and hides {hidden}; torch numbers the visible "
                        f"ones from 0{order}", facts)]
    return []


def check_mirror(s: Snapshot, tables) -> list[Finding]:
    p = s.python
    if not known(p.pip_index_url):
        return []
    if p.pip_index_url is None:
        summary = "pip uses the default index (no mirror)"
    elif p.mirror:
        summary = f"pip uses the {p.mirror} mirror ({p.pip_index_url})"
    else:
        summary = f"pip uses the index {p.pip_index_url}"
    facts = {"index_url": p.pip_index_url, "extra_index_urls": list(p.pip_extra_index_urls)}
    return [Finding("mirror", "info", "python", summary, facts)]
