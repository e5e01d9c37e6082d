"""doctor's memory of the last healthy torch stack: the check on hand-built snapshots (a healthy
one remembered, then a +cpu one), the state file, and doctor recording it (not from --from)."""

from __future__ import annotations

import json
import stat
from dataclasses import replace

from envcheck.checks import run_all
from envcheck.checks.memory import healthy_stack
from envcheck.compat import Tables
from envcheck.probes.stack_memory import memory_file, read_remembered, remember
from tests.snapshots import cpu_torch, cuda_torch, gpu, pkgs, snapshot

T = Tables()
BOX = dict(gpus=(gpu(name="NVIDIA GeForce RTX 3090", cc="8.6"),))


def changed(findings):
    return [f for f in findings if f.code == "torch-build-changed"]


def test_a_cuda_build_swapped_for_cpu_on_a_gpu_box_is_an_error_that_restores_and_pins_it():
    healthy = snapshot(**BOX, torch=cuda_torch("2.5.1+cu121", "12.1"), packages=pkgs(torchvision="0.20.1+cu121"))
    healthy = replace(healthy, taken_at="2026-11-30T12:40:05Z")
    before = healthy_stack(healthy, run_all(healthy, T))
    assert before is not None and (before.torch, before.cuda, before.seen) == ("2.5.1+cu121", "12.1", "2026-11-30T12:40:05Z")
    swapped = snapshot(**BOX, torch=cpu_torch("2.5.1+cpu"), packages=pkgs(torchvision="0.20.1+cpu"))
    found = run_all(swapped, T, remembered=before)
    f = changed(found)[0]
    assert f.severity == "error"
    assert f.summary == "torch is the CPU build 2.5.1+cpu now; on 2026-11-30T12:40:05Z it was 2.5.1+cu121 (CUDA 12.1), and it worked on the GPU"
    assert f.fix.startswith("pip install torch==2.5.1+cu121 torchvision==0.20.1+cu121 ")  # the local pins replace +cpu
    assert "https://download.pytorch.org/whl/cu121" in f.fix and f.fix.endswith(" && envcheck pin")
    assert healthy_stack(swapped, found) is None  # a CPU build on a GPU box is not remembered as healthy


def test_another_release_is_a_warning_and_the_same_build_is_nothing():
    before = healthy_stack(snapshot(**BOX, torch=cuda_torch("2.5.1+cu121", "12.1")), [])
    now = snapshot(**BOX, torch=cuda_torch("2.6.0+cu124", "12.4"))
    f = changed(run_all(now, T, remembered=before))[0]
    assert f.severity == "warn" and "2.5.1+cu121" in f.summary and "2.6.0+cu124" in f.summary
    assert f.fix.endswith(" && envcheck pin") and "torch==2.5.1" in f.fix
    assert changed(run_all(snapshot(**BOX, torch=cuda_torch("2.5.1+cu121", "12.1")), T, remembered=before)) == []
    assert changed(run_all(now, T)) == []  # nothing remembered: nothing to compare


def test_the_state_file_is_keyed_by_prefix_and_owner_only(tmp_path):
    env = {"XDG_STATE_HOME": str(tmp_path)}
    stack = healthy_stack(replace(snapshot(torch=cuda_torch()), taken_at="2026-01-02T03:04:05Z"), [])
    assert remember("/opt/envs/a", stack, env)
    assert read_remembered("/opt/envs/a", env) == stack
    assert read_remembered("/opt/envs/b", env) is None
    path = memory_file(env)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    path.write_text("not json")
    assert read_remembered("/opt/envs/a", env) is None  # a broken file is no memory, never an error


def test_doctor_remembers_a_healthy_stack_and_from_neither_reads_nor_writes(run_cli, machine, tmp_path, monkeypatch):
    import sys

    from envcheck.probes import collect, python_env
    from envcheck.snapshot.json_io import dump
    from envcheck.snapshot.model import OnnxRuntime

    machine("driver535_gtx1080ti")  # a GTX 1080 Ti runs the cu121 build: the stack is healthy
    monkeypatch.setattr(collect, "read_torch_and_packages", lambda *a, **k: (cuda_torch("2.5.1+cu121", "12.1", cc="6.1"), (), OnnxRuntime()))
    code, out, err = run_cli("doctor", "--json")
    assert "Traceback" not in err
    remembered = read_remembered(python_env.interpreter_prefix(sys.executable))
    assert remembered is not None and remembered.torch == "2.5.1+cu121"

    report = tmp_path / "report.json"
    report.write_text(json.dumps(dump(snapshot(**BOX, torch=cpu_torch("2.5.1+cpu")))))
    before = memory_file().read_bytes()
    code, out, err = run_cli("doctor", "--from", str(report), "--json")
    assert [f for f in json.loads(out)["findings"] if f["code"] == "torch-build-changed"] == []  # not read
    assert memory_file().read_bytes() == before  # not written


def test_a_cpu_build_on_a_box_without_a_gpu_is_a_warning_and_a_driver_too_old_is_not_healthy():
    before = healthy_stack(snapshot(**BOX, torch=cuda_torch("2.5.1+cu121", "12.1")), [])
    no_gpu = snapshot(driver=None, torch=cpu_torch("2.5.1+cpu"))
    assert [f.severity for f in changed(run_all(no_gpu, T, remembered=before))] == ["warn"]
    # torch imports, but the driver cannot run its CUDA: not a stack to remember
    old_driver = snapshot(driver="470.82.01", cuda_driver="11.4", torch=cuda_torch("2.2.1+cu121", "12.1", available=False))
    found = run_all(old_driver, T)
    assert [f.code for f in found if f.severity == "error"] == ["driver-too-old"]
    assert healthy_stack(old_driver, found) is None
