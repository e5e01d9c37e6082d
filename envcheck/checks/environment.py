"""Environment checks: which GPUs CUDA_VISIBLE_DEVICES lets through, and which index pip uses."""

from __future__ import annotations

from envcheck.checks.codes import finding
from envcheck.checks.findings import Finding
from envcheck.snapshot.model import Snapshot, known
from envcheck.visible_devices import cuda_devices, label


def check_cuda_visible_devices(s: Snapshot, tables, stack=None) -> list[Finding]:
    value = s.cuda_env.cuda_visible_devices
    gpus = s.driver.gpus
    if value is None or not known(gpus):
        return []
    shown, problem = cuda_devices(value, gpus, s.driver.driver_version)
    usable = cuda_devices(None, gpus, s.driver.driver_version)[0]  # what CUDA enumerates with the variable unset
    facts = {"CUDA_VISIBLE_DEVICES": value, "gpus": len(usable), "visible": [label(d) for d in shown]}
    if problem:
        return [finding("cuda-hidden", "malformed", facts, value=value, problem=problem)]
    if not shown and usable:
        return [finding("cuda-hidden", "hides-all", facts, value=value)]
    if len(shown) < len(usable) and all(d.mig is None for d in usable):
        hidden = [d.gpu for d in usable if d not in shown]
        variant = "hides-some" if s.cuda_env.cuda_device_order == "PCI_BUS_ID" else "hides-some-unordered"
        return [finding("cuda-hidden", variant, facts, value=value, shown=[d.gpu for d in shown], hidden=hidden)]
    return []


def check_mirror(s: Snapshot, tables, stack=None) -> list[Finding]:
    p = s.python
    if not known(p.pip_index_url):
        return []
    variant = "default" if p.pip_index_url is None else "named" if p.mirror else "index"
    facts = {"index_url": p.pip_index_url, "extra_index_urls": list(p.pip_extra_index_urls)}
    return [finding("mirror", variant, facts, mirror=p.mirror)]
