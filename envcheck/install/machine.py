"""The machine a plan is for: this one as NVML describes it, or one the user described.

Also the platform key of an OS and CPU (the tables' column), kept here for the callers that
import it from envcheck.install.
"""

from __future__ import annotations

from typing import NamedTuple

from envcheck.snapshot.facts import DriverInfo, Host, Installed, known

# NamedTuples: cheap to define, and this module is on install-cmd's start-up path.
OSES = ("linux", "windows", "macos")
ARCHES = ("x86_64", "aarch64", "arm64")


class TargetGpu(NamedTuple):
    name: str
    cc: str | None  # "8.6"; None when NVML could not say


class Machine(NamedTuple):
    """What the solver needs to know of the machine the commands are for."""

    os: str
    arch: str
    python: str
    driver: str | None = None  # NVIDIA driver version; None: no driver
    gpus: tuple[TargetGpu, ...] = ()
    nvidia_on_pci: bool = False  # an NVIDIA device is on the bus even though no driver answered
    local: bool = True  # facts were read from this machine (False: planning for another)
    no_driver_reason: str = ""
    described: bool = False  # the user described the driver or GPUs (--driver, --gpu)
    installed: Installed = Installed()

    @property
    def has_gpu(self) -> bool:
        """The plan is for NVIDIA GPUs: found here with their driver, or described by the user."""
        if self.described:
            return self.driver is not None or bool(self.gpus)
        return self.local and self.driver is not None and bool(self.gpus)

    @property
    def gpu_without_driver(self) -> bool:
        """GPUs described (or for another machine) with no driver known: their architecture decides,
        and the plan names the driver each build needs."""
        return self.driver is None and bool(self.gpus) and (self.described or not self.local)


def machine_from(
    host: Host, os: str, arch: str, info: DriverInfo | None, gpus: tuple = (), driver: str | None = None,
    installed: Installed = Installed(),
) -> Machine:
    """The solver's view of a machine: the NVML facts of this one, or what the user described.

    `info` is None when the plan is not for this machine's GPUs (another OS or CPU, a --driver given,
    or --cpu); `gpus` and `driver` are what the user described with --gpu and --driver. A GPU
    described without a driver is planned for with the driver it needs named, never as "no driver
    here, so the CPU build". `installed` is what the target environment holds now.
    """
    local = (os, arch) == (host.os, host.arch)
    if driver is not None:
        return Machine(os, arch, host.python, driver=driver, gpus=gpus, local=local, described=True, installed=installed)
    if os == "macos":
        return Machine(os, arch, host.python, no_driver_reason="macOS has no CUDA", installed=installed)
    if not local:
        return Machine(os, arch, host.python, gpus=gpus, local=False, described=bool(gpus))
    if info is None or (gpus and not known(info.driver_version)):
        return Machine(os, arch, host.python, gpus=gpus, described=bool(gpus), installed=installed)
    if not known(info.driver_version):
        reason = info.driver_version.reason
        if info.nvidia_on_pci:
            reason = f"an NVIDIA GPU is on the PCI bus but its driver does not answer: {reason}"
        return Machine(os, arch, host.python, nvidia_on_pci=info.nvidia_on_pci, no_driver_reason=reason, installed=installed)
    found = list(gpus)
    for g in info.gpus if known(info.gpus) else ():
        name = g.name if known(g.name) else f"GPU {g.index}"
        found.append(TargetGpu(name, g.compute_capability if known(g.compute_capability) else None))
    return Machine(os, arch, host.python, driver=info.driver_version, gpus=tuple(found), installed=installed)


def target_of(host: Host, os: str | None, arch: str | None) -> tuple[str, str]:
    """--os/--arch over this host's; another OS defaults to its common CPU."""
    target_os = os or host.os
    if arch:
        return target_os, arch
    if target_os == host.os:
        return target_os, host.arch
    return target_os, "arm64" if target_os == "macos" else "x86_64"
