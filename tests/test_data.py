"""`envcheck data`: reads, decoding and the DataLoader sweep measured for real on small generated
datasets; the machine around them (cgroup quota, /dev/shm, mounts) read from fake files."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from envcheck.datacheck import decode, environment, files, service
from envcheck.datacheck.environment import Roots
from envcheck.datacheck.results import (
    Cores,
    DecodeFigure,
    Filesystem,
    LoaderRow,
    ReadFigure,
    Surroundings,
    Sweep,
)
from envcheck.datacheck.service import DataRequest
from envcheck.datacheck.verdicts import bottleneck, judge
from tests.pythons import needs_torch

HAS_PIL = importlib.util.find_spec("PIL") is not None
needs_pillow = pytest.mark.skipif(not HAS_PIL, reason="needs Pillow (the dev extra) to write and decode images")
FAST = ["--seconds", "1", "--samples", "24", "--batch-size", "4"]


def _images(folder: Path, n: int = 24) -> Path:
    """n small pictures, half PNG and half JPEG, beside a label file that is not a sample."""
    from PIL import Image

    folder.mkdir()
    for i in range(n):
        img = Image.effect_noise((48, 40), 30 + i).convert("RGB")
        img.save(folder / f"{i:03d}.{'png' if i % 2 else 'jpg'}")
    (folder / "labels.txt").write_text("0\n" * n)
    return folder


def _raw(path: Path, size: int = 2 * 1024 * 1024) -> Path:
    path.write_bytes(os.urandom(size))
    return path


@pytest.fixture
def no_torch(monkeypatch):
    """`import torch` fails, as where torch is not installed."""
    monkeypatch.setitem(sys.modules, "torch", None)


def _fake_statvfs(size: int):
    return lambda path: SimpleNamespace(f_frsize=4096, f_blocks=size // 4096)


# --- the whole command, on real files -------------------------------------------------------------

@needs_torch
@needs_pillow
def test_an_image_folder_is_read_decoded_and_swept_in_one_json_document(run_cli, tmp_path):
    folder = _images(tmp_path / "imgs")
    code, out, err = run_cli("data", str(folder), *FAST, "--gpu-rate", "1e9", "--json")
    data = json.loads(out)
    assert data["command"] == "data" and data["exit_code"] == code == 1  # a GPU eating 1e9 samples/s waits
    assert data["samples_found"] == 24  # the label file is not a sample
    reads = {(r["pattern"], r["cache"]) for r in data["reads"]}
    assert ("random", "warm") in reads and ("sequential", "warm") in reads
    assert (("random", "cold") in reads) != bool(data["cold_note"])  # cold measured, or said why not
    assert data["decode"]["kind"] == "image" and data["decode"]["formats"] == ["JPEG", "PNG"]
    assert data["decode"]["sample_bytes"] == 48 * 40 * 3 and data["decode"]["per_core"] > 0
    rows = data["sweep"]["rows"]
    assert [r["workers"] for r in rows][:2] == [0, 1] and all(r["samples_per_s"] > 0 for r in rows), rows
    assert data["best"] in rows and data["best"]["samples_per_s"] >= 0.95 * max(r["samples_per_s"] for r in rows)
    assert data["bottleneck"]["name"] in ("disk", "filesystem", "decode", "workers")
    starved = [v for v in data["verdicts"] if v["code"] == "gpu_starved"]
    assert starved and f"num_workers={data['best']['workers']}" in starved[0]["text"] and "0.00x" in starved[0]["text"]
    assert set(data) >= {"environment", "reads", "decode", "sweep", "best", "bottleneck", "verdicts", "notes", "interrupted"}
    assert set(data["environment"]) == {"cores", "shm_bytes", "start_method", "filesystem"}


@needs_torch
@needs_pillow
def test_text_report_names_the_best_setting_and_the_bottleneck(run_cli, tmp_path):
    code, out, err = run_cli("data", str(_images(tmp_path / "imgs")), *FAST, "--gpu-rate", "0.001")
    assert code == 0, err
    assert "best setting: DataLoader(num_workers=" in out and "bottleneck: " in out
    assert "the pipeline can keep the GPU busy" in out and "verdict: all good" in out
    code, md, _ = run_cli("data", str(tmp_path / "imgs"), *FAST, "--format", "markdown")
    assert md.startswith("## envcheck data\n\n```text\n") and "DataLoader (batch size 4)" in md


def test_a_missing_path_is_one_line_and_exit_2(run_cli, tmp_path):
    code, out, err = run_cli("data", str(tmp_path / "nope"))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("envcheck: error: ") and "no such file or folder" in err


def test_without_torch_the_sweep_is_skipped_with_one_line(run_cli, tmp_path, no_torch):
    code, out, err = run_cli("data", str(_raw(tmp_path / "train.bin")), *FAST)
    assert code == 0, err
    assert "note: torch is not installed, so the DataLoader sweep is skipped (`envcheck install-cmd`" in out
    assert "DataLoader (batch size" not in out


def test_a_single_raw_file_is_read_as_records_and_measured_as_bytes(tmp_path, no_torch):
    report = service.run(DataRequest(path=str(_raw(tmp_path / "shard.bin")), seconds=0.5, max_samples=8))
    assert report.samples_found == 1 and report.bytes_found == 2 * 1024 * 1024
    assert report.decode.kind == "raw" and report.decode.sample_bytes == files.RECORD
    assert "not an image type Pillow reads" in report.decode.note or "Pillow is not installed" in report.decode.note
    assert {f.pattern for f in report.reads} == {"sequential", "random"}
    assert report.sweep.skipped and report.best is None


@needs_pillow
def test_without_pillow_images_are_measured_as_raw_bytes_and_the_report_says_so(run_cli, tmp_path, monkeypatch, no_torch):
    monkeypatch.setattr(decode, "pillow", lambda: None)
    code, out, _ = run_cli("data", str(_images(tmp_path / "imgs")), *FAST, "--json")
    data = json.loads(out)
    assert data["decode"]["kind"] == "raw" and "Pillow is not installed" in data["decode"]["note"]
    assert data["samples_found"] == 25  # no image type is known: every file is a sample


def test_gpu_rate_without_a_sweep_is_judged_on_reads_and_decoding(run_cli, tmp_path, no_torch):
    raw = str(_raw(tmp_path / "train.bin"))
    code, out, _ = run_cli("data", raw, *FAST, "--gpu-rate", "1e12", "--json")
    (v,) = [v for v in json.loads(out)["verdicts"] if v["code"].startswith("gpu_")]
    assert code == 1 and v["code"] == "gpu_starved" and "estimated from reads and decoding" in v["text"] and "busy at most 0%" in v["text"]
    code, out, _ = run_cli("data", raw, *FAST, "--gpu-rate", "0.5", "--json")
    (v,) = [v for v in json.loads(out)["verdicts"] if v["code"].startswith("gpu_")]
    assert code == 0 and v["code"] == "gpu_fed"


def test_bad_options_are_user_errors(run_cli, tmp_path):
    raw = str(_raw(tmp_path / "x.bin", 1000))
    for args in (["--seconds", "0"], ["--gpu-rate", "-1"], ["--batch-size", "0"]):
        code, out, err = run_cli("data", raw, *args)
        assert code == 2 and out == "" and err.count("\n") == 1, (args, err)
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli("data", str(tmp_path / "empty"))
    assert code == 2 and "no files to read" in err


def test_a_64_mb_shm_is_named_as_dockers_default_with_the_fix(run_cli, tmp_path, monkeypatch, no_torch):
    monkeypatch.setattr(environment.os, "statvfs", _fake_statvfs(64 * 1024 * 1024))
    code, out, _ = run_cli("data", str(_raw(tmp_path / "train.bin")), *FAST)
    assert code == 1
    assert "/dev/shm is 64 MB, Docker's default" in out and "docker run --shm-size=8g" in out and "--ipc=host" in out


def test_the_generated_dataset_is_removed_after(run_cli, tmp_path, monkeypatch, no_torch):
    made = tmp_path / "generated"
    monkeypatch.setattr(service.tempfile, "mkdtemp", lambda prefix: (made.mkdir(), str(made))[1])
    code, out, _ = run_cli("data", "--seconds", "0.5", "--json")
    data = json.loads(out)
    assert data["path"] == "(generated)" and data["samples_found"] == 256 and not made.exists()
    assert data["decode"]["kind"] == ("image" if HAS_PIL else "raw")


def test_ctrl_c_keeps_the_reads_that_finished(tmp_path, no_torch):
    def stop(done, total, text):
        if text == "decoding":
            raise KeyboardInterrupt

    report = service.run(DataRequest(path=str(_raw(tmp_path / "t.bin")), seconds=0.5), on_step=stop)
    assert report.interrupted and report.exit_code == 130
    assert report.reads and report.decode is None and "interrupted (Ctrl-C)" in report.notes[0]
    from envcheck.render import data as render
    from envcheck.render.console import Output

    buf = io.StringIO()
    render.text(report, Output(buf, width=80))
    assert "random" in buf.getvalue() and buf.getvalue().rstrip().endswith("verdict: interrupted, 0 problem(s) in what finished")


def test_a_filesystem_that_keeps_the_cache_gets_warm_reads_only_and_says_so(tmp_path, monkeypatch, no_torch):
    monkeypatch.setattr(files, "_still_cached", lambda path: "this filesystem kept the files in the cache")
    report = service.run(DataRequest(path=str(_raw(tmp_path / "t.bin")), seconds=0.5))
    assert {f.cache for f in report.reads} == {"warm"} and report.cold_note.startswith("this filesystem kept")
    monkeypatch.delattr(files.os, "posix_fadvise")
    assert "no posix_fadvise" in files.drop_cache([str(tmp_path / "t.bin")])


# --- the machine around the pipeline, from fake files ---------------------------------------------

def _cgroup(tmp_path: Path, v2: str = "", v1: tuple = ()) -> Roots:
    root = tmp_path / "cgroup"
    (root / "job").mkdir(parents=True)
    if v2:
        (root / "job" / "cpu.max").write_text(v2 + "\n")
        (root / "cpu.max").write_text("max 100000\n")
    if v1:
        (root / "cpu,cpuacct" / "job").mkdir(parents=True)
        (root / "cpu,cpuacct" / "job" / "cpu.cfs_quota_us").write_text(f"{v1[0]}\n")
        (root / "cpu,cpuacct" / "job" / "cpu.cfs_period_us").write_text(f"{v1[1]}\n")
    proc = tmp_path / "proc_cgroup"
    proc.write_text("4:cpu,cpuacct:/job\n0::/job\n" if v1 else "0::/job\n")
    return Roots(cgroup=root, proc_cgroup=proc, mountinfo=tmp_path / "none", shm=tmp_path)


def test_a_cgroup_v2_quota_of_one_and_a_half_cores_caps_the_usable_cores(tmp_path):
    c = environment.cores(_cgroup(tmp_path, v2="150000 100000"))
    assert c.quota == 1.5 and c.usable == min(1.5, float(c.affinity or c.visible))
    assert environment.cpu_quota(_cgroup(tmp_path / "b", v1=(250000, 100000))) == 2.5
    assert environment.cpu_quota(_cgroup(tmp_path / "c", v1=(-1, 100000))) is None
    assert environment.cpu_quota(_cgroup(tmp_path / "d", v2="max 100000")) is None


def test_the_quota_is_named_against_os_cpu_count():
    env = Surroundings(Cores(1.5, 64, 64, 1.5), 8 << 30, "fork", Filesystem("/", "ext4", "/dev/sda1", ""))
    (v,) = [v for v in judge(env, [], None, None, None)[3] if v.code == "cpu_quota"]
    assert "may use 1.5 cores" in v.text and "os.cpu_count() says 64" in v.text and v.severity == "info"


MOUNTINFO = """\
22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
40 22 0:50 / /data rw - nfs4 fileserver:/export/imagenet rw,vers=4.1
41 22 0:51 / /mnt/c rw - 9p drvfs rw,aname=drvfs;path=C:\\
42 22 0:52 / /var/lib/docker/overlay2/x/merged rw - overlay overlay rw,lowerdir=/l
43 22 0:53 / /my\\040data rw - lustre 10.0.0.1@tcp:/scratch rw
"""


@pytest.mark.parametrize("path, fstype, effect", [
    ("/data/train/n01440764", "nfs4", "network filesystem"),
    ("/mnt/c/Users/me/data", "9p", "WSL"),
    ("/var/lib/docker/overlay2/x/merged/app", "overlay", "docker run -v"),
    ("/my data/shard0", "lustre", "parallel cluster filesystem"),
    ("/home/me", "ext4", ""),
])
def test_the_filesystem_of_the_path_is_named_with_its_typical_effect(tmp_path, path, fstype, effect):
    (tmp_path / "mountinfo").write_text(MOUNTINFO)
    fs = environment.filesystem(Path(path), Roots(mountinfo=tmp_path / "mountinfo"))
    assert fs.fstype == fstype and effect in fs.note and (effect or fs.note == "")


def test_windows_and_macos_start_workers_by_spawn_and_the_report_says_what_it_costs():
    assert environment.start_method("win32") == environment.start_method("darwin") == "spawn"
    assert environment.start_method("linux", (3, 11)) == "fork" and environment.start_method("linux", (3, 14)) == "forkserver"
    env = Surroundings(Cores(8, 8, 8, None), environment.Unavailable("not_supported", "no /dev/shm"), "spawn",
                       environment.Unavailable("not_supported", "not Linux"))
    sweep = Sweep((LoaderRow(0, False, 100.0, 10, 0.01), LoaderRow(4, False, 300.0, 30, 2.5)), 32)
    (v,) = [v for v in judge(env, [], None, sweep, None)[3] if v.code == "spawn"]
    assert "up to 2.5 s before the first batch" in v.text and "persistent_workers=True" in v.text


# --- what limits the pipeline, on hand-built figures -----------------------------------------------

def _env(fstype="ext4", shm=8 << 30, cores=4.0):
    return Surroundings(Cores(cores, 4, 4, None), shm, "fork", Filesystem("/data", fstype, "src", environment.FILESYSTEMS.get(fstype, "")))


def _reads(rate):
    return [ReadFigure("random", "cold", 100, 100 * 100_000, 100 / rate, rate * 0.1, rate)]


def _decode(per_core, cores=4.0):
    return DecodeFigure("image", ("JPEG",), 100, 1.0, per_core, per_core * cores, 150_528, "")


def test_the_bottleneck_is_disk_filesystem_decode_or_workers_by_the_figures():
    fast_loader = LoaderRow(4, False, 390.0, 100, 0.1)
    assert bottleneck(_env(), _reads(400), _decode(1000), None, fast_loader)[0] == "disk"
    assert bottleneck(_env("nfs4"), _reads(400), _decode(1000), None, fast_loader)[0] == "filesystem"
    name, text = bottleneck(_env(), _reads(5000), _decode(100), None, LoaderRow(4, False, 390.0, 100, 0.1))
    assert name == "decode" and "100 samples/s per core x 4 usable cores" in text
    assert bottleneck(_env(), _reads(5000), _decode(1000), None, LoaderRow(1, False, 500.0, 100, 0.1))[0] == "workers"
    crashed = Sweep((LoaderRow(2, False, None, 0, None, "RuntimeError: DataLoader worker (pid 9) is killed by signal: Bus error."),), 32)
    assert bottleneck(_env(), _reads(5000), _decode(1000), crashed, None)[0] == "shm"


def test_shm_smaller_than_the_workers_need_is_a_warning_and_a_bigger_one_is_not():
    sweep = Sweep((LoaderRow(0, False, 100.0, 10, 0.01), LoaderRow(8, False, 300.0, 30, 0.2)), 64)
    warns = [v for v in judge(_env(shm=128 << 20), _reads(400), _decode(1000), sweep, None)[3] if v.severity == "warn"]
    assert [v.code for v in warns] == ["shm_small"] and "8 workers with batches of 64" in warns[0].text
    assert not [v for v in judge(_env(shm=8 << 30), _reads(400), _decode(1000), sweep, None)[3] if v.severity == "warn"]


def test_a_file_just_written_is_still_measured_cold(tmp_path):
    """Pages not yet on disk cannot be dropped from the cache: drop_cache writes them back first."""
    fs = environment.filesystem(tmp_path, Roots())
    if not hasattr(os, "RWF_NOWAIT") or not hasattr(fs, "fstype") or fs.fstype in ("tmpfs", "overlay"):
        pytest.skip(f"needs Linux and a disk-backed tmp_path ({getattr(fs, 'fstype', fs)})")
    path = _raw(tmp_path / "fresh.bin", 1 << 20)
    assert files.drop_cache([str(path)]) == ""


def test_the_sweep_tries_workers_up_to_the_usable_cores_and_pin_memory_only_with_cuda():
    from envcheck.datacheck import loader

    assert loader.worker_counts(1.5) == [0, 1, 2] and loader.worker_counts(6) == [0, 1, 2, 4, 6]
    assert loader.worker_counts(1) == [0, 1] and max(loader.worker_counts(512)) == loader.MAX_WORKERS
    assert loader.settings(2, cuda=False) == [(0, False), (1, False), (2, False)]
    assert loader.settings(1, cuda=True) == [(0, False), (0, True), (1, False), (1, True)]


def test_python_m_envcheck_does_not_run_again_in_a_spawned_worker():
    """Spawn (Windows, macOS) imports the parent's main module as __mp_main__ in every DataLoader
    worker: `python -m envcheck data` must not start envcheck again there."""
    import subprocess

    code = "import runpy; runpy.run_module('envcheck', run_name='__mp_main__'); print('quiet')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    assert done.returncode == 0 and done.stdout == "quiet\n" and done.stderr == "", done.stderr


def test_a_folder_larger_than_the_scan_is_sampled_from_what_was_seen_and_said_so(tmp_path, monkeypatch, no_torch):
    folder = tmp_path / "big"
    for part in ("a", "b", "c"):
        (folder / part).mkdir(parents=True)
        for i in range(5):
            _raw(folder / part / f"{i}.bin", 1000)
    monkeypatch.setattr(files, "MAX_SCAN", 6)
    report = service.run(DataRequest(path=str(folder), seconds=0.5))
    assert report.samples_found < 15 and any("the folder is large" in n for n in report.notes)
