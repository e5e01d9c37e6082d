"""The entry point starts doctor's torch probe before it imports the CLI stack (docs/DESIGN.md,
"Performance targets": doctor within 1.05x of a bare `import torch`). The early child must give the
same answer as the ordinary one and never outlive a command that failed before waiting for it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import typer

from envcheck.cli import doctor_flags
from envcheck.cli.app import build_app
from envcheck.cli.entry import early_target, main
from envcheck.probes import torch_probe, torch_spawn

FAKES = Path(__file__).parent / "fakes" / "torch"
SPECS = Path(__file__).parent / "fixtures" / "torch"


@pytest.mark.parametrize("args, target", [
    (["doctor"], sys.executable),
    (["doctor", "--json", "--timeout", "30"], sys.executable),
    (["doctor", "--python", sys.executable], sys.executable),
    (["doctor", f"--python={sys.executable}"], sys.executable),
    (["doctor", "--python", "python3"], None),  # a command on PATH: resolved by doctor itself, started then
    (["doctor", "--python", "relative/bin/python"], None),
    (["doctor", "--no-torch"], None),
    (["doctor", "--from", "report.txt"], None),
    (["doctor", "--from=-"], None),
    (["doctor", "--help"], None),
    (["install-cmd"], None),
    ([], None),
])
def test_only_a_plain_doctor_starts_the_probe_early(args, target):
    assert early_target(args) == target


def test_an_option_that_joins_doctors_skips_probe_starts_nothing_early(monkeypatch):
    """entry.py asks doctor's own set, so a new option that skips the probe needs no second list."""
    assert early_target(["doctor", "--offline-report"]) == sys.executable
    monkeypatch.setattr(doctor_flags, "SKIPS_PROBE", doctor_flags.SKIPS_PROBE | {"--offline-report"})
    assert early_target(["doctor", "--offline-report"]) is None
    assert early_target(["doctor", "--offline-report=yes"]) is None


def test_the_probe_options_entry_reads_are_doctors_own():
    """A name in doctor_flags that doctor does not declare (a typo, a rename) would let entry.py
    start a child for an option doctor reads as something else."""
    doctor = typer.main.get_command(build_app("doctor")).commands["doctor"]
    declared = {name for param in doctor.params for name in param.opts}
    assert doctor_flags.SKIPS_PROBE | {doctor_flags.PYTHON} <= declared


def _run(args):
    with pytest.raises(SystemExit) as exc:
        main(args)
    return exc.value.code


def test_doctor_waits_for_the_early_child_and_reads_it(machine, monkeypatch, capsys):
    machine("rtx3090x4_throttled")
    monkeypatch.setenv("PYTHONPATH", str(FAKES))
    monkeypatch.setenv("FAKE_TORCH_SPEC", str(SPECS / "rtx3090x4.json"))
    started = []
    real_spawn = torch_spawn.spawn
    for module in (torch_spawn, torch_probe):  # the early start, and the ordinary one
        monkeypatch.setattr(module, "spawn", lambda *a: started.append(a) or real_spawn(*a))
    code = _run(["doctor", "--json"])
    report = json.loads(capsys.readouterr().out)
    torch = report["snapshot"]["torch"]
    assert torch["status"] == "ok" and len(torch["devices"]) == 4
    # The recording's throttled GPUs are warnings, and a torch that runs on them raises no error.
    assert code == 1 and ("gpu-health", "warn") in {(f["code"], f["severity"]) for f in report["findings"]}, report["findings"]
    assert [a[2] for a in started] == [torch_spawn.TORCH, torch_spawn.ONNXRUNTIME]  # the early pair, no second pair
    assert not torch_spawn._EARLY  # and it was claimed


def test_a_command_that_fails_first_leaves_no_child(monkeypatch, capsys):
    monkeypatch.setenv("PYTHONPATH", str(FAKES))
    monkeypatch.setenv("FAKE_TORCH_SPEC", str(SPECS / "hang.json"))
    procs = []
    real_spawn = torch_spawn.spawn
    for module in (torch_spawn, torch_probe):
        monkeypatch.setattr(module, "spawn", lambda *a: procs.append(real_spawn(*a)) or procs[-1])
    code = _run(["doctor", "--timeout", "0"])  # refused before the probe is read
    assert code == 2 and "--timeout" in capsys.readouterr().err
    assert len(procs) == 1 and procs[0].poll() is not None and not torch_spawn._EARLY


def test_ctrl_c_while_the_cli_imports_stops_the_early_child(monkeypatch, capsys):
    """The early child runs before the CLI's Ctrl-C handler exists: a Ctrl-C then still ends with
    the usual line and exit code 130, and no child left."""
    import builtins

    monkeypatch.setenv("PYTHONPATH", str(FAKES))
    monkeypatch.setenv("FAKE_TORCH_SPEC", str(SPECS / "hang.json"))
    procs = []
    real_spawn, real_import = torch_spawn.spawn, builtins.__import__
    for module in (torch_spawn, torch_probe):
        monkeypatch.setattr(module, "spawn", lambda *a: procs.append(real_spawn(*a)) or procs[-1])

    def interrupted_import(name, *args, **kwargs):
        if name == "envcheck.cli.app":
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", interrupted_import)
    code = _run(["doctor"])
    monkeypatch.setattr(builtins, "__import__", real_import)
    assert code == 130 and capsys.readouterr().err == "envcheck: interrupted (Ctrl-C)\n"
    assert len(procs) == 1 and procs[0].poll() is not None and not torch_spawn._EARLY
