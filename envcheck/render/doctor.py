"""`envcheck doctor` reports: facts grouped by area, each area's findings beneath them, then the
verdict. Text for a terminal, markdown for an issue tracker (UUIDs and host name left out unless
asked), JSON for programs."""

from __future__ import annotations

import re
import sys

from envcheck.checks.findings import Finding
from envcheck.redact import hide_uuids
from envcheck.render.console import Output, commands_fit
from envcheck.render.output import View
from envcheck.snapshot.model import Snapshot, Unavailable, jsonable, known

TITLES = {
    "system": "System",
    "python": "Python",
    "driver": "Driver & GPUs",
    "toolkit": "CUDA toolkit",
    "torch": "PyTorch",
    "onnxruntime": "ONNX Runtime",
}
MARK = {"error": "✗", "warn": "!", "info": "i", "ok": "✓"}
STYLE = {"error": "red", "warn": "yellow", "info": "dim", "ok": "green"}


def _v(value, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, Unavailable):
        return f"unknown ({value.reason})"
    return f"{value}{unit}"


def facts(s: Snapshot, redact: bool = False) -> dict[str, list[str]]:
    """The report's fact lines per area: plain strings, no judgement."""
    sy, py, d, tk = s.system, s.python, s.driver, s.toolkit
    where = ", in a " + sy.container + " container" if sy.container else ""
    where += ", under WSL" if sy.wsl else ""
    mem = f"{sy.memory_total_mib / 1024:.1f} GiB" if known(sy.memory_total_mib) else _v(sy.memory_total_mib)
    out: dict[str, list[str]] = {a: [] for a in TITLES}
    host = "" if redact or not sy.hostname else f"host {sy.hostname}; "
    kernel = f", kernel {sy.kernel}" if sy.kernel else ""
    out["system"] = [f"{host}{sy.os_release or sy.os} ({sy.arch}){kernel}{where}"]
    if sy.cpu or sy.cpu_count:
        out["system"].append(f"CPU {sy.cpu or 'unknown'}" + (f" ({sy.cpu_count} threads)" if sy.cpu_count else "") + f", memory {mem}")
    env = f"venv {py.venv}" if py.venv else (f"conda env {py.conda_env}" if py.conda_env else "no virtual environment")
    index = "default index" if py.pip_index_url is None else _v(py.pip_index_url)
    where_py = f" at {py.executable} ({env})" if py.executable else ""
    out["python"] = [f"Python {py.version}{' (free-threaded)' if py.free_threaded else ''}{where_py}", f"pip index: {index}" + (f" ({py.mirror} mirror)" if py.mirror else "")]
    if py.pip_check is not None:
        if not known(py.pip_check):
            out["python"].append(f"pip check: {_v(py.pip_check)}")
        elif py.pip_check:
            out["python"] += ["pip check: broken requirements"] + [f"  {line}" for line in py.pip_check]
        else:
            out["python"].append("pip check: no broken requirements")
    if known(d.driver_version):
        inferred = " (inferred from the driver version by envcheck's tables)" if d.cuda_driver_inferred else ""
        out["driver"].append(f"driver {d.driver_version}; the newest CUDA it supports: {_v(d.cuda_driver_version)}{inferred}")
    else:
        out["driver"].append(f"driver: {_v(d.driver_version)}" + ("; an NVIDIA device is on the PCI bus" if d.nvidia_on_pci else ""))
    if d.kernel_module_version is not None and known(d.kernel_module_version):
        out["driver"].append(f"kernel module {d.kernel_module_version}")
    for g in d.gpus if known(d.gpus) else ():
        parts = [f"GPU {g.index}", _v(g.name)]
        if known(g.compute_capability):
            parts.append(f"sm_{g.compute_capability.replace('.', '')}")
        if known(g.memory_total_mib):
            parts.append(f"{g.memory_total_mib / 1024:.0f} GiB")
        if isinstance(g.temperature_c, int):
            parts.append(f"{g.temperature_c} °C")
        if isinstance(g.power_draw_w, (int, float)) and isinstance(g.power_limit_w, (int, float)):
            parts.append(f"{g.power_draw_w:.0f}/{g.power_limit_w:.0f} W")
        if isinstance(g.pcie_link, str):
            parts.append(g.pcie_link)
        if isinstance(g.sm_clock_mhz, int) and isinstance(g.max_sm_clock_mhz, int):
            parts.append(f"SM {g.sm_clock_mhz}/{g.max_sm_clock_mhz} MHz")
        if not redact:
            parts += [str(x) for x in (g.pci_bus_id, g.uuid) if known(x)]
        out["driver"].append("  ".join(parts))
        for m in g.mig_devices if isinstance(g.mig_devices, tuple) else ():  # what CUDA uses of a GPU in MIG mode
            mig = [f"  MIG device {m.index}", _v(m.name)]
            if isinstance(m.sm_count, int):
                mig.append(f"{m.sm_count} SMs")
            if isinstance(m.memory_total_mib, int):
                mig.append(f"{m.memory_total_mib / 1024:.0f} GiB")
            if not redact and known(m.uuid):
                mig.append(str(m.uuid))
            out["driver"].append("  ".join(mig))
    cev = s.cuda_env
    if cev.cuda_visible_devices is not None or cev.cuda_device_order:
        out["driver"].append(f"CUDA_VISIBLE_DEVICES={cev.cuda_visible_devices!r}, CUDA_DEVICE_ORDER={cev.cuda_device_order or 'unset (FASTEST_FIRST)'}")
    out["toolkit"] = [f"nvcc: {_v(tk.nvcc_version)}" + (f" at {tk.nvcc_path}" if tk.nvcc_path and known(tk.nvcc_version) else "")]
    if d.source != "collect_env" and d.source != "report":
        out["toolkit"].append(f"CUDA_HOME: {tk.cuda_home or 'unset'}")
    if tk.ld_library_path_cuda:
        out["toolkit"].append(f"LD_LIBRARY_PATH entries with CUDA libraries: {', '.join(tk.ld_library_path_cuda)}")
    out["torch"] = _torch_facts(s)
    ort = s.onnxruntime
    if ort.installed:
        providers = ", ".join(ort.providers) if known(ort.providers) else _v(ort.providers)
        out["onnxruntime"] = [f"{' + '.join(ort.installed)} {ort.version or ''}".rstrip() + f"; providers: {providers}"]
        if not known(ort.loads):
            out["onnxruntime"].append(f"providers without torch: {_v(ort.loads)}")
        for load in ort.loads if known(ort.loads) else ():
            out["onnxruntime"].append(f"{load.provider} without torch: {load_text(load)}")
    else:
        out["onnxruntime"] = ["not installed"]
    return out


def load_text(load) -> str:
    """Whether a provider loads without torch, in a few words: "does not load (libcublasLt.so.12
    not found)". doctor's facts and `envcheck onnx` say it alike."""
    if load.loads is None:
        return load.note or "not tried"
    if load.loads:
        return "loads"
    said = [f"{', '.join(load.missing)} not found"] if load.missing else []
    if load.after_preload is not None:
        said.append("loads after onnxruntime.preload_dlls()" if load.after_preload else "onnxruntime.preload_dlls() does not help")
    return "does not load" + (f" ({'; '.join(said)})" if said else "")


def _torch_facts(s: Snapshot) -> list[str]:
    t = s.torch
    if isinstance(t, Unavailable):
        return [f"not probed ({t.reason})"]
    if t.status == "missing":
        return ["not installed in the target interpreter"]
    if t.status != "ok":
        return [f"import {t.status}: {(t.error or '').strip().splitlines()[0] if (t.error or '').strip() else ''}"]
    build = f"CUDA {t.cuda}" if t.cuda else (f"ROCm {t.hip}" if t.hip else "CPU")
    lines = [f"torch {t.version} ({build} build); cuDNN {t.cudnn or '—'}; NCCL {t.nccl or '—'}"]
    count = f"; device_count(): {t.device_count}" if t.device_count is not None else ""
    lines.append(f"torch.cuda.is_available(): {_v(t.cuda_available) if t.cuda_available is not None else 'unknown'}{count}")
    for dev in t.devices:
        lines.append(f"cuda:{dev.index}  {dev.name}  sm_{dev.capability.replace('.', '')}")
    if t.arch_list:
        lines.append(f"arch list: {' '.join(t.arch_list)}")
    drv = s.driver.cuda_driver_version
    nvcc = s.toolkit.nvcc_version
    lines.append(
        f"the three CUDA versions: driver supports {'≤ ' + drv if known(drv) else 'unknown'}; "
        f"toolkit (nvcc) {nvcc if known(nvcc) else 'unknown'}; torch built with {t.cuda or 'none (CPU build)'}"
    )
    for w in t.warnings:
        first = next((line.strip() for line in w.splitlines() if line.strip()), "")
        if first:
            lines.append(f"torch warned: {first}")
    if t.loaded_libraries:
        lines.append(f"CUDA libraries torch loaded: {', '.join(t.loaded_libraries)}")
    for p in s.packages:
        lines.append(f"{p.name}: {p.version or 'not installed'}")
    if t.seconds:
        lines.append(f"probe took {t.seconds:.1f} s")
    return lines


def _verdict(findings: list[Finding]) -> str:
    errors = sum(f.severity == "error" for f in findings)
    warns = sum(f.severity == "warn" for f in findings)
    if not errors and not warns:
        return "verdict: all good"
    return f"verdict: {errors} error(s), {warns} warning(s)"


def heading(s: Snapshot) -> str:
    """What the report describes when it is not this machine now: the file it was read from and
    when its snapshot was taken (a saved report may be weeks old)."""
    stamp = re.match(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d)", s.taken_at or "")
    when = f"taken {stamp[1]} {stamp[2]} UTC" if stamp else ""
    if s.origin:
        return f"Report read from {s.origin}" + (f" (snapshot {when})" if when else "")
    return f"Snapshot {when}" if when else ""


def text(s: Snapshot, findings: list[Finding], c: Output) -> None:
    by_area = facts(s)
    if s.origin:
        c.print(heading(s), style="bold")
    for area, title in TITLES.items():
        c.print(title, style="bold")
        for line in by_area[area]:
            body = line.lstrip(" ")
            indent = "  " + " " * (len(line) - len(body))
            c.wrap(body, indent, indent + "  ")
        for f in (f for f in findings if f.area == area):
            _finding(f, c)
    c.print(_verdict(findings), style="bold")


def _finding(f: Finding, c: Output) -> None:
    """Prose folds at the width; commands (fix, check, or) stay on one line, to be copied whole."""
    c.wrap(f"{f.severity} {f.code}: {f.summary}", f"  {MARK[f.severity]} ", "      ", style=STYLE[f.severity])
    if f.why:
        c.wrap(f.why, "      why: ", "           ")
    if f.fix:
        c.command("      fix: ", f.fix)
        for note in f.fix_notes:
            c.wrap(note, "      note: ", "            ")
        if f.verify:
            c.command("      check: ", f.verify)
        if f.alternative:
            c.command("      or: ", f.alternative)
    elif f.fix_notes:  # no command to give: the fix line says why, or what to do by hand
        c.wrap(f.fix_notes[0], "      fix: ", "           ")
        for note in f.fix_notes[1:]:
            c.wrap(note, "      note: ", "            ")


def markdown(s: Snapshot, findings: list[Finding], redact: bool = True) -> str:
    by_area = facts(s, redact=redact)
    lines = ["## envcheck doctor", ""] + ([heading(s), ""] if heading(s) else [])
    for area, title in TITLES.items():
        lines.append(f"**{title}**")
        lines += [f"- {x}" for x in by_area[area]]
        for f in (f for f in findings if f.area == area):
            lines.append(f"- **{f.severity} `{f.code}`**: {f.summary}" + (f" — {f.why}" if f.why else ""))
            if f.fix:
                lines.append(f"  - fix: `{f.fix}`")
                lines += [f"  - note: {note}" for note in f.fix_notes]
                if f.verify:
                    lines.append(f"  - check: `{f.verify}`")
                if f.alternative:
                    lines.append(f"  - or: `{f.alternative}`")
            elif f.fix_notes:
                lines.append(f"  - fix: {f.fix_notes[0]}")
                lines += [f"  - note: {note}" for note in f.fix_notes[1:]]
        lines.append("")
    lines.append(f"**{_verdict(findings)}**")
    text = "\n".join(lines) + "\n"
    return hide_uuids(text) if redact else text  # CUDA_VISIBLE_DEVICES may name GPUs by UUID


def as_dict(s: Snapshot, findings: list[Finding]) -> dict:
    return {"findings": jsonable(findings), "snapshot": jsonable(s)}


def view(s: Snapshot, findings: list[Finding], redact: bool = True) -> View:
    return View(lambda c: text(s, findings, c), lambda: as_dict(s, findings), lambda: _fitting_markdown(s, findings, redact))


def _fitting_markdown(s: Snapshot, findings: list[Finding], redact: bool) -> str:
    """The markdown, once every command in it is known to fit stdout (render.console.commands_fit),
    as install-cmd's: a command with '?' in place of a character would do something else."""
    commands_fit([c for f in findings for c in (f.fix, f.verify, f.alternative) if c], sys.stdout)
    return markdown(s, findings, redact=redact)
