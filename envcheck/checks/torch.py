"""PyTorch checks: can torch be imported, is it a build that uses this machine's GPUs, do its
companions (torchvision, torchaudio) and the toolkit on PATH belong with it."""

from __future__ import annotations

from envcheck.checks.codes import finding
from envcheck.checks.codes.torch import IMPORT_OUTCOME
from envcheck.checks.driver import driver_runs_torch
from envcheck.checks.findings import Finding, Fix
from envcheck.checks.fixes import KNOWN_OS, installed_variant, target_python
from envcheck.compat import WheelArch, platform_key, wheel_runs_on
from envcheck.cuda_libraries import CUDA_LIBRARIES
from envcheck.errors import first_line
from envcheck.snapshot.model import Snapshot, Torch, known
from envcheck.versions import arch_cc, cuda_version, release_of
from envcheck.visible_devices import cuda_devices


def _gpus(s: Snapshot) -> tuple:
    g = s.driver.gpus
    return g if known(g) else ()


def check_torch(s: Snapshot, tables, stack) -> list[Finding]:
    """torch-missing, torch-import-failed, cpu-only-build, arch-unsupported, cuda-unavailable,
    device-count-mismatch, python-unsupported."""
    t = s.torch
    if not isinstance(t, Torch):
        return []
    gpus = _gpus(s)
    if t.status == "missing":
        return [finding("torch-missing", "", {"python": s.python.executable}, fix=stack.fix)]
    if t.status != "ok":
        return [_import_failed(s, t, stack)]
    out: list[Finding] = []
    has_driver = known(s.driver.driver_version)
    if not t.cuda and not t.hip and gpus and has_driver:
        out.append(finding("cpu-only-build", "", {"torch": t.version, "gpus": len(gpus)}, fix=stack.fix))
    if t.cuda:
        out += _arch(s, t, tables, stack)
        if has_driver and t.cuda_available is False and driver_runs_torch(s, tables) is not False:
            reason = "; ".join(t.warnings) or "torch gave no reason"
            out.append(finding("cuda-unavailable", "", {"torch": t.version, "torch_warnings": list(t.warnings)}, why=reason))
        if has_driver and t.cuda_available and t.device_count is not None and gpus:
            out += _device_count(s, t, gpus)
    release = tables.releases.get(release_of(t.version or ""))
    if release is not None and s.system.os in KNOWN_OS:
        plat = platform_key(s.system.os, s.system.arch)
        py = target_python(s)
        pys = release.python.get(plat, ())
        if pys and py not in pys:
            out.append(finding("python-unsupported", "", {"python": py, "torch": release.torch}, fix=stack.fix,
                               supported=", ".join(pys)))
    return out


def _device_count(s: Snapshot, t: Torch, gpus: tuple) -> list[Finding]:
    """device-count-mismatch: torch counts other devices than CUDA enumerates here."""
    cvd = s.cuda_env.cuda_visible_devices
    visible, problem = cuda_devices(cvd, gpus, s.driver.driver_version)
    if problem or t.device_count == len(visible):
        return []
    facts = {"nvml_visible": len(visible), "torch_device_count": t.device_count}
    migs = [d for d in visible if d.mig is not None]
    if migs and cvd is None:
        # torch counts devices through NVML, which counts physical GPUs, while a CUDA process before
        # R570 enumerates one MIG device (torch/cuda/__init__.py _device_count_nvml; pytorch#130181).
        first = next(d for g in gpus if g.index == migs[0].gpu for d in g.mig_devices if d.index == migs[0].mig)
        no_uuid = None if isinstance(first.uuid, str) else Fix()
        return [finding("device-count-mismatch", "mig", facts, fix=no_uuid, uuid=first.uuid)]
    return [finding("device-count-mismatch", "", facts)]


def _import_failed(s: Snapshot, t: Torch, stack) -> Finding:
    text = t.error or t.status
    variant = ""
    if any(h in text for h in CUDA_LIBRARIES):
        variant = "shadowed" if s.toolkit.ld_library_path_cuda else "cuda-library"
    facts = {"status": t.status, "error": text}
    return finding("torch-import-failed", variant, facts, fix=None if variant == "shadowed" else stack.fix,
                   outcome=IMPORT_OUTCOME.get(t.status, IMPORT_OUTCOME[""]), error_line=first_line(text, t.status),
                   ld_library_path=", ".join(s.toolkit.ld_library_path_cuda))


def _arch(s: Snapshot, t: Torch, tables, stack) -> list[Finding]:
    """Compare each GPU's capability with the arch list torch itself reports."""
    sm = tuple(c for c in (arch_cc(a) for a in t.arch_list if a.startswith("sm_")) if c)
    ptx = tuple(c for c in (arch_cc(a) for a in t.arch_list if a.startswith("compute_")) if c)
    listed = " ".join(t.arch_list)
    if not sm and not ptx and t.min_capability:  # old torch said only its minimum
        sm, listed = (t.min_capability,), f"from sm_{t.min_capability.replace('.', '')} up (torch's own warning)"
        ptx = (t.min_capability,)
    if sm or ptx:
        arch = WheelArch(installed_variant(t), (), s.system.os, sm, ptx, "", "torch.cuda.get_arch_list()")
    else:  # a report without the arch list: the official wheel's, from envcheck's table
        release = tables.releases.get(release_of(t.version or ""))
        arch = tables.archs.find(release, installed_variant(t), s.system.os, s.system.arch) if release else None
        if arch is None:
            return _retired(s, t, tables)
        listed = " ".join("sm_" + x.replace(".", "") for x in arch.sm) + " (the official wheel's)"
    caps = {}
    for g in _gpus(s):
        if known(g.compute_capability):
            caps[g.compute_capability] = g.name if known(g.name) else f"GPU {g.index}"
    for d in t.devices:
        caps.setdefault(d.capability, d.name)
    out = []
    for cc, name in sorted(caps.items()):
        if not wheel_runs_on(arch, cc):
            out.append(finding("arch-unsupported", "", {"gpu": name, "capability": cc, "arch_list": list(t.arch_list)},
                               fix=stack.fix, version=t.version, sm=cc.replace(".", ""), listed=listed))
    return out


def _retired(s: Snapshot, t: Torch, tables) -> list[Finding]:
    """Without any arch list: is the GPU's generation older than every CUDA that can build torch's?"""
    out = []
    for g in _gpus(s):
        if not known(g.compute_capability):
            continue
        retired = tables.drivers.last_cuda_for(g.compute_capability)
        if not retired:
            continue
        generation, last = retired
        last_t, have = cuda_version(last.replace(".x", ".9")), cuda_version(t.cuda)
        if last_t and have and have > last_t:
            name = g.name if known(g.name) else f"GPU {g.index}"
            out.append(finding("arch-unsupported", "retired",
                               {"gpu": name, "capability": g.compute_capability, "torch_cuda": t.cuda, "last_cuda": last},
                               version=t.version, sm=g.compute_capability.replace(".", ""), generation=generation))
    return out


def check_loaded_libraries(s: Snapshot, tables, stack=None) -> list[Finding]:
    """library-shadowed: torch imported, but a CUDA library came from an LD_LIBRARY_PATH folder
    instead of the copy its wheel ships. It works until the versions disagree, then fails oddly."""
    t = s.torch
    dirs = {d.rstrip("/") for d in s.toolkit.ld_library_path_cuda}
    if not isinstance(t, Torch) or t.status != "ok" or not dirs:
        return []
    shadowed = [p for p in t.loaded_libraries if p.rsplit("/", 1)[0] in dirs and any(h in p for h in CUDA_LIBRARIES)]
    if not shadowed:
        return []
    return [finding("library-shadowed", "", {"libraries": shadowed, "ld_library_path_cuda": sorted(dirs)},
                    shadowed=", ".join(shadowed))]


def check_companions(s: Snapshot, tables, stack) -> list[Finding]:
    """torchvision-mismatch, torchaudio-mismatch: versions or builds not released with torch."""
    t = s.torch
    if not isinstance(t, Torch) or t.status != "ok" or not t.version:
        return []
    release = tables.releases.get(release_of(t.version))
    if release is None or s.system.os not in KNOWN_OS:
        return _variant_mismatch(s, t)
    variant = installed_variant(t)
    out = []
    installed = {p.name: p.version for p in s.packages}
    for name, want in (("torchvision", release.torchvision), ("torchaudio", release.torchaudio)):
        have = installed.get(name)
        if not have or not want:
            continue
        have_local = have.partition("+")[2]
        wrong_version = not tables.releases.companion_fits(name, have, t.version)
        wrong_build = bool(have_local) and have_local != variant and "+" in t.version
        if wrong_version or wrong_build:
            which = "release-build" if "+" in t.version and have_local else "release"
            out.append(finding("torchvision-mismatch" if name == "torchvision" else "torchaudio-mismatch", which, {"torch": t.version, name: have, "expected": want}, fix=stack.fix,
                               package=name, have=have, torch_build=variant))
    return out


def _variant_mismatch(s: Snapshot, t: Torch) -> list[Finding]:
    """For a torch older than the tables: a companion built for another CUDA is still visible."""
    variant = installed_variant(t)
    out = []
    for p in s.packages:
        local = (p.version or "").partition("+")[2]
        if p.name in ("torchvision", "torchaudio") and local and local != variant:
            out.append(finding("torchvision-mismatch" if p.name == "torchvision" else "torchaudio-mismatch", "build", {"torch": t.version, p.name: p.version}, package=p.name,
                               version=p.version, local=local, torch_build=variant))
    return out


def check_nvcc(s: Snapshot, tables, stack=None) -> list[Finding]:
    """nvcc-mismatch: the toolkit on PATH differs from torch's build CUDA (extensions need them equal)."""
    t = s.torch
    nvcc = s.toolkit.nvcc_version
    if not isinstance(t, Torch) or t.status != "ok" or not t.cuda or not known(nvcc):
        return []
    a, b = cuda_version(nvcc), cuda_version(t.cuda)
    if a is None or b is None or a == b:
        return []
    return [finding("nvcc-mismatch", "major" if a[0] != b[0] else "minor",
                    {"nvcc": nvcc, "nvcc_path": s.toolkit.nvcc_path, "torch_cuda": t.cuda})]
