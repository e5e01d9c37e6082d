"""`envcheck gpus` as a user meets it: the one-screen view on every recorded machine (fake NVML
replaying tests/fixtures/machines), --pick and the line it prints, CUDA_VISIBLE_DEVICES ordinals,
process users, --json, --watch and every bad request."""

from __future__ import annotations

import functools
import io
import json
import os
import pwd
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envcheck.snapshot.facts import SCHEMA_VERSION
from tests.fakes.fake_nvml import MACHINES
from tests.fakes.fake_proc import install_proc, write_proc

ALL_MACHINES = sorted(p.stem for p in MACHINES.glob("*.json"))
# 0: GPUs shown; 1: no NVIDIA GPU here (nothing wrong with the request); 2: a driver that fails
EXPECTED_EXIT = {"no_driver": 1, "driver_mismatch": 2, "gpu_without_driver": 2, "wedged_driver": 2}
JSON_KEYS = {"schema_version", "command", "exit_code", "driver_version", "cuda_driver_version", "cuda_visible_devices",
             "cuda_device_order", "problem", "warnings", "notes", "gpus", "pick"}
BOX = "rtx3090x4_throttled"  # GPUs 0 and 3 free, GPU 1 held (20 GiB, idle), GPU 2 running a job at 97%
LINE_3 = "CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0,1,3 torchrun --nproc-per-node=3 train.py"


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch):
    """The CUDA variables of whoever runs the tests must not leak into what is asserted."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv("CUDA_DEVICE_ORDER", raising=False)


@pytest.fixture
def gpus(machine, run_cli, monkeypatch, tmp_path):
    """gpus(machine_name, *args) -> (exit code, stdout, stderr); a wedged driver costs 0.3 s, not 5.
    edit(m) changes the recording, its /proc (m["proc"], tests/fakes/fake_proc.py) included."""
    from envcheck.probes import nvml

    monkeypatch.setattr(nvml, "read_driver", functools.partial(nvml.read_driver, timeout=0.3))

    def run(name, *args, edit=None):
        m = machine(name)
        if edit is not None:
            edit(m)
            install_proc(monkeypatch, m, tmp_path / f"proc-{len(list(tmp_path.iterdir()))}")
        return run_cli("gpus", *args)

    return run


def _strict(text: str):
    def refuse(name):
        raise AssertionError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def _fits(text: str, width: int = 80, except_lines=()) -> None:
    for line in text.splitlines():
        if line not in except_lines:
            assert len(line) <= width, f"{len(line)} columns: {line!r}"


def _row(out: str, index: int) -> str:
    """The table line of GPU `index` (its index is the first cell)."""
    return next(line for line in out.splitlines() if line.split()[:1] == [str(index)])


def _me() -> str:
    return pwd.getpwuid(os.getuid()).pw_name


# -- the view on every recorded machine ----------------------------------------------------------


@pytest.mark.parametrize("name", ALL_MACHINES)
def test_every_recorded_machine_gets_its_screen(gpus, name):
    code, out, err = gpus(name)
    assert code == EXPECTED_EXIT.get(name, 0), out + err
    assert "Traceback" not in out + err and err == ""
    _fits(out)
    fixture = json.loads((MACHINES / f"{name}.json").read_text())
    if code == 0:
        assert out.splitlines()[1].split()[:3] == ["GPU", "CUDA", "NAME"]
        for i, g in enumerate(fixture["gpus"]):
            assert g["name"].replace("NVIDIA ", "")[:12] in _row(out, i)
    elif name == "no_driver":
        assert out.startswith("no NVIDIA GPU or driver found: NVML library")
    else:
        assert "envcheck doctor shows the fix" in " ".join(out.split())


@pytest.mark.parametrize("name", ALL_MACHINES)
def test_every_recorded_machine_gives_strict_json(gpus, name):
    code, out, err = gpus(name, "--json")
    data = _strict(out)
    assert set(data) == JSON_KEYS and data["schema_version"] == SCHEMA_VERSION and data["command"] == "gpus"
    assert data["exit_code"] == code == EXPECTED_EXIT.get(name, 0) and "Traceback" not in err
    fixture = json.loads((MACHINES / f"{name}.json").read_text())
    assert [g["index"] for g in data["gpus"]] == list(range(len(fixture["gpus"]) if code == 0 else 0))
    assert (data["problem"] is None) == (code == 0)


def test_the_four_gpu_box_shows_load_memory_power_and_processes(gpus):
    code, out, err = gpus(BOX)
    assert code == 0
    assert out.startswith("driver 535.104.05 (CUDA 12.2); CUDA_VISIBLE_DEVICES unset")
    assert _row(out, 0).split() == ["0", "cuda:0", "GeForce", "RTX", "3090", "38C", "0%", "1/24268", "21/350", "-"]
    assert _row(out, 2).split()[5:] == ["89C", "97%", "17845/24268", "251/350", "51877"]
    assert "20783/24268" in _row(out, 1) and "48213" in _row(out, 1)


def test_fields_the_driver_cannot_give_show_as_unknown(gpus):
    code, out, _ = gpus("driver535_gtx1080ti")  # a recording with no utilisation or memory used
    assert code == 0 and _row(out, 0).split()[-5:] == ["?", "?", "?/11264", "?", "?"]


# -- process users --------------------------------------------------------------------------------


def _on_the_host(m, pid, nvml_name, cmdline, uid=None):
    """A recording where NVML lists `pid` as `nvml_name` and the host's /proc holds it as `cmdline`."""
    m["gpus"][0]["processes"] = [{"pid": pid, "name": nvml_name, "used_memory_bytes": 40 << 30}]
    m["proc"] = {"processes": {str(pid): {"uid": os.getuid() if uid is None else uid, "cmdline": cmdline}}}


def test_a_process_shows_its_user(gpus):
    """As on the lent H200 (no container): NVML named pid 911 /opt/torch/.venv/bin/python3, and
    /proc/911 was that python."""
    def mine(m):
        _on_the_host(m, 911, "/opt/torch/.venv/bin/python3", ["/opt/torch/.venv/bin/python3", "train.py"])

    code, out, _ = gpus("h200_driver580", edit=mine)
    assert f"{_me()}/911" in _row(out, 0) and "not visible here" not in out
    code, out, _ = gpus("h200_driver580", "--json", edit=mine)
    (process,) = _strict(out)["gpus"][0]["processes"]
    assert process["pid"] == 911 and process["user"] == _me() and process["used_memory_mib"] == 40960


def test_a_pid_that_now_runs_another_program_gets_no_owner(gpus):
    """NVML's name and the program /proc shows under that pid disagree (the job ended and the pid
    was given to sshd): root is not the job's owner, so no owner is shown."""
    def reused(m):
        _on_the_host(m, 911, "/opt/torch/.venv/bin/python3", ["/usr/sbin/sshd", "-D"], uid=0)

    code, out, _ = gpus("h200_driver580", edit=reused)
    row = _row(out, 0)
    assert "911" in row and "/911" not in row


def test_inside_a_container_the_hosts_pids_get_no_owner_and_one_line_says_why(gpus):
    """NVML gives host PIDs: 911 is this container's own bash of root (not the GPU job), 4242 is not
    here at all. Neither gets a user, and one note says why."""
    code, out, _ = gpus("h200_in_container")
    text = " ".join(out.split())
    row = _row(out, 0)
    assert "911" in row and "4242" in row and "root/" not in out
    note = "no owner shown for PIDs 911, 4242: inside a container, NVML gives the host's process IDs"
    assert text.count(note) == 1 and "processes of other containers or the host are not visible here" in text
    assert code == 0  # a fact of where envcheck runs, not a problem of the GPUs
    code, out, _ = gpus("h200_in_container", "--json")
    data = _strict(out)
    assert [p["user"] for p in data["gpus"][0]["processes"]] == [None, None]
    assert sum(note in n for n in data["notes"]) == 1


def test_inside_a_container_a_process_that_holds_the_gpu_shows_its_user(gpus):
    """Where NVML's pid is a process of this /proc that has /dev/nvidia* open (a driver that gives
    the container's own numbers, or a container sharing the host's PID namespace's numbers)."""
    def own_job(m):
        m["gpus"][0]["processes"] = [{"pid": 57, "name": "python", "used_memory_bytes": 40 << 30}]
        m["proc"]["processes"]["57"] = {"uid": os.getuid(), "cmdline": ["python", "train.py"], "gpu": True}

    code, out, _ = gpus("h200_in_container", edit=own_job)
    assert f"{_me()}/57" in _row(out, 0) and "not visible here" not in out


def test_process_probe_reads_uid_and_never_fails(tmp_path):
    from envcheck.probes.processes import process_owners
    from envcheck.snapshot.facts import DriverInfo, GpuProcess
    from tests.snapshots import gpu

    def listed(*pids):
        return DriverInfo("580.159.04", "13.0", (gpu(0, processes=tuple(GpuProcess(p, "", None) for p in pids)),))

    write_proc(tmp_path, {"processes": {"10": {"uid": 0, "cmdline": ["python"]}, "11": {"uid": 3999999, "cmdline": ["python"]},
                                        "12": {"uid": 0, "cmdline": ["zombie"]}}})
    (tmp_path / "12" / "status").write_text("Name:\tzombie\n")  # no Uid line
    (tmp_path / "13" / "status").mkdir(parents=True)  # unreadable as a file
    owners = process_owners(listed(10, 11, 12, 13, 14), proc=str(tmp_path))  # 14: vanished
    assert owners.users == {10: pwd.getpwuid(0).pw_name, 11: "3999999", 12: None, 13: None, 14: None}
    assert owners.why == ""  # the host's namespace: a process that ended is no news
    assert process_owners(DriverInfo("580.159.04", "13.0", ()), proc=str(tmp_path / "absent")).users == {}


def test_this_process_in_the_real_proc_has_its_user_or_the_reason():
    """On this machine's own /proc: in the host's PID namespace the test's own process (as NVML
    would name it) shows its user; in a container it cannot be shown to be the GPU process, and
    the line says why."""
    from envcheck.probes.processes import host_pid_namespace, process_owners
    from envcheck.snapshot.facts import DriverInfo, GpuProcess
    from tests.snapshots import gpu

    argv0 = Path(f"/proc/{os.getpid()}/cmdline").read_bytes().split(b"\0")[0].decode()
    owners = process_owners(DriverInfo("580.159.04", "13.0", (gpu(0, processes=(GpuProcess(os.getpid(), argv0, 100),)),)))
    if host_pid_namespace():
        assert owners.users == {os.getpid(): _me()} and owners.why == ""
    else:
        assert owners.users == {os.getpid(): None} and "not visible here" in owners.why


def test_many_processes_wrap_under_their_gpu_within_80_columns(gpus):
    def crowd(m):
        _on_the_host(m, 4321, "python", ["python", "train.py"])
        m["gpus"][0]["processes"] += [{"pid": 900000 + k, "name": None, "used_memory_bytes": 2**20} for k in range(12)]

    code, out, _ = gpus("driver580_h100x8", edit=crowd)
    assert code == 0
    _fits(out)
    for k in range(12):
        assert str(900000 + k) in out
    assert f"{_me()}/4321" in out
    assert _row(out, 1).startswith("  1  cuda:1")  # the next GPU still has its own line


# -- CUDA_VISIBLE_DEVICES --------------------------------------------------------------------------


def test_a_subset_in_cuda_visible_devices_shows_the_ordinals(gpus, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,1")
    code, out, _ = gpus(BOX)
    assert code == 0
    assert _row(out, 3).split()[1] == "cuda:0" and _row(out, 1).split()[1] == "cuda:1"
    assert _row(out, 0).split()[1] == "hidden" and _row(out, 2).split()[1] == "hidden"
    assert "CUDA_VISIBLE_DEVICES=3,1 hides GPUs 0, 2" in out
    code, out, _ = gpus(BOX, "--json")
    assert [g["cuda_ordinal"] for g in _strict(out)["gpus"]] == [None, 1, None, 0]


def test_a_uuid_in_cuda_visible_devices_is_read_too(gpus, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-4b2a1c77-0002")
    code, out, _ = gpus(BOX)
    assert code == 0 and _row(out, 2).split()[1] == "cuda:0" and _row(out, 0).split()[1] == "hidden"


@pytest.mark.parametrize("value, words", [("0,9", "is malformed: entry '9'"), ("", "hides every GPU")])
def test_a_cuda_visible_devices_that_hides_what_it_should_not_is_a_warning(gpus, monkeypatch, value, words):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", value)
    code, out, _ = gpus(BOX)
    assert code == 1 and words in " ".join(out.split())
    _fits(out)


def test_mixed_models_without_pci_bus_order_get_a_note(gpus, monkeypatch):
    def mixed(m):
        m["gpus"][3]["name"] = "NVIDIA GeForce RTX 4090"

    code, out, _ = gpus(BOX, edit=mixed)
    assert code == 0 and "CUDA_DEVICE_ORDER is not PCI_BUS_ID" in " ".join(out.split())
    monkeypatch.setenv("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
    code, out, _ = gpus(BOX, edit=mixed)
    assert "CUDA_DEVICE_ORDER" not in out


# -- --pick ----------------------------------------------------------------------------------------


def test_pick_three_leaves_out_the_busy_gpu_and_explains_the_numbering(gpus):
    code, out, err = gpus(BOX, "--pick", "3")
    assert LINE_3 in out.splitlines()
    flat = " ".join(out.split())
    assert "picked the least busy GPUs: 0, 1, 3" in flat
    assert "GPU 0 is cuda:0, GPU 1 is cuda:1, GPU 3 is cuda:2" in flat
    # GPU 1 is the third least busy but holds another process's 20 GiB: said, and exit 1
    assert "warning: GPU 1 is busy" in flat and "GPU 2 is" not in flat
    assert code == 1 and err == ""
    _fits(out, except_lines=(LINE_3,))


def test_pick_two_takes_the_two_free_gpus(gpus):
    code, out, _ = gpus(BOX, "--pick", "2")
    assert code == 0 and "CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0,3 torchrun --nproc-per-node=2 train.py" in out
    assert "GPU 3 is cuda:1" in out and "warning" not in out


def test_pick_named_gpus(gpus):
    code, out, _ = gpus(BOX, "--pick", "0,2,3")
    flat = " ".join(out.split())
    assert "CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0,2,3 torchrun --nproc-per-node=3 train.py" in out.splitlines()
    assert "picked GPUs 0, 2, 3, as named" in flat and "GPU 2 is cuda:1" in flat and "GPU 3 is cuda:2" in flat
    assert code == 1 and "warning: GPU 2 is busy (utilisation 97%" in flat


def test_named_gpus_keep_their_order_and_one_gpu_is_named_with_a_comma(gpus):
    code, out, _ = gpus(BOX, "--pick", "3,0")
    assert code == 0 and "CUDA_VISIBLE_DEVICES=3,0 torchrun --nproc-per-node=2" in out and "GPU 3 is cuda:0, GPU 0 is cuda:1" in out
    code, out, _ = gpus(BOX, "--pick", "3,")
    assert code == 0 and "CUDA_VISIBLE_DEVICES=3 torchrun --nproc-per-node=1 train.py" in out


def test_pick_with_the_users_own_command(gpus):
    code, out, _ = gpus(BOX, "--pick", "2", "--cmd", "python -m torch.distributed.run --nproc-per-node={n} fit.py --lr 3e-4")
    assert "CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0,3 python -m torch.distributed.run --nproc-per-node=2 fit.py --lr 3e-4" in out


def test_quiet_pick_prints_only_the_line(gpus):
    code, out, _ = gpus(BOX, "--pick", "2", "--quiet")
    assert out == "CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0,3 torchrun --nproc-per-node=2 train.py\n" and code == 0


def test_pick_json(gpus):
    code, out, _ = gpus(BOX, "--pick", "3", "--json")
    data = _strict(out)
    assert set(data) == JSON_KEYS and data["exit_code"] == code == 1
    assert data["pick"]["gpus"] == [0, 1, 3] and data["pick"]["command"] == LINE_3
    assert data["pick"]["cuda_ordinals"] == {"0": 0, "1": 1, "3": 2}
    assert [g["load"] for g in data["gpus"]] == ["free", "busy", "busy", "free"]


def test_pick_stays_inside_cuda_visible_devices(gpus, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1,2,3")
    code, out, _ = gpus(BOX, "--pick", "2")
    assert "CUDA_VISIBLE_DEVICES=1,3 torchrun --nproc-per-node=2 train.py" in out
    assert "replaces your CUDA_VISIBLE_DEVICES=1,2,3 for this job only" in " ".join(out.split())


def test_pick_on_a_machine_where_utilisation_is_unknown_goes_by_index(gpus):
    code, out, _ = gpus("driver580_h100x8", "--pick", "4")
    assert code == 0 and "CUDA_VISIBLE_DEVICES=0,1,2,3 torchrun --nproc-per-node=4 train.py" in out


@pytest.mark.parametrize("value, words", [
    ("5", "--pick 5: this machine has 4 GPUs (0-3): pick at most 4"),
    ("0", "--pick 0: a single number is how many GPUs to pick"),
    ("0,9", "--pick 0,9: there is no GPU 9 (this machine has 4 GPUs (0-3)"),
    ("0,2,2", "--pick 0,2,2: GPU 2 is listed twice"),
    ("a,b", "--pick a,b: 'a' is not a GPU index"),
    ("abc", "--pick abc: 'abc' is not a number"),
    ("-1", "--pick -1: '-1' is not a number"),
    ("0,,1", "--pick 0,,1: an entry is empty"),
    ("²", "is not a number"),
    ("", "is not a number"),
    ("1 2", "is not a number"),
])
def test_a_bad_pick_is_one_line_and_exit_2(gpus, value, words):
    code, out, err = gpus(BOX, "--pick", value)
    assert code == 2 and out == ""
    assert err.startswith("envcheck: error: ") and err.count("\n") == 1 and words in err, err


@pytest.mark.parametrize("env, args, words", [
    ("3,1", ("--pick", "0,1"), "GPU 0 is hidden by CUDA_VISIBLE_DEVICES=3,1: unset it or choose from 1, 3"),
    ("3,1", ("--pick", "3"), "CUDA_VISIBLE_DEVICES=3,1 lets 2 of the 4 GPUs through: pick at most 2"),
    ("", ("--pick", "1"), "lets 0 of the 4 GPUs through: unset CUDA_VISIBLE_DEVICES"),
])
def test_a_pick_cuda_visible_devices_forbids_is_one_line(gpus, monkeypatch, env, args, words):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", env)
    code, out, err = gpus(BOX, *args)
    assert code == 2 and err.count("\n") == 1 and words in err, err


def test_a_lost_gpu_is_shown_and_never_picked(gpus):
    def lose(m):
        m["gpus"][3]["errors"] = {"nvmlDeviceGetHandleByIndex": "NVML_ERROR_GPU_IS_LOST"}

    code, out, _ = gpus(BOX, edit=lose)
    assert code == 1 and "cannot be read: the GPU has fallen off the bus" in _row(out, 3)
    _fits(out)
    code, out, err = gpus(BOX, "--pick", "4", edit=lose)
    assert code == 2 and "only 3 of this machine's 4 GPUs can be read" in err
    code, out, err = gpus(BOX, "--pick", "1,3", edit=lose)
    assert code == 2 and "GPU 3 cannot be read" in err


@pytest.mark.parametrize("name", ["no_driver", "driver_mismatch"])
def test_pick_without_a_working_driver_is_one_line(gpus, name):
    code, out, err = gpus(name, "--pick", "1")
    assert code == 2 and out == "" and err.count("\n") == 1 and "nothing to pick" in err


@pytest.mark.parametrize("args, words", [
    (("--cmd", "python train.py"), "--cmd is the command --pick prints"),
    (("--pick", "1", "--cmd", "a\nb"), "give the command on one line"),
    (("--pick", "1", "--cmd", " "), "give the command on one line"),
    (("--watch", "--pick", "1"), "contradict"),
    (("--watch", "--json"), "cannot be combined with --format json"),
    (("--watch", "--interval", "0"), "--interval 0"),
    (("--watch", "--interval", "nan"), "--interval nan"),
    (("--watch", "--interval", "0.01"), "choose at least 0.1 seconds"),
])
def test_contradictory_or_bad_options_are_one_line(gpus, args, words):
    code, out, err = gpus(BOX, *args)
    assert code == 2 and out == "" and err.count("\n") == 1 and words in err, err


_TEXT = st.one_of(st.text(max_size=12), st.sampled_from(["nan", "inf", "-1", "0", "1e309", "²", "١٢", "0,0", "0,", ",0", "3,2,1,0",
                                                          "4", "99999999999999999999", "-", "--", "\x00", "{n}", "清华", "0\n1"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_value_in_any_option_is_a_result_or_one_line(gpus, data):
    args = []
    for option in data.draw(st.lists(st.sampled_from(["--pick", "--cmd", "--interval"]), max_size=3, unique=True)):
        args += [option, data.draw(_TEXT)]
    code, out, err = gpus(BOX, *args)
    assert "Traceback" not in err and "internal error" not in err, (args, err)
    if err:  # refused: one line, nothing on stdout
        assert code == 2 and len(err.strip().splitlines()) == 1 and out == "", (args, code, err)
    else:  # the view; 1 exactly when the pick holds a busy GPU (BOX's GPUs 1 and 2), which it warns of
        assert "GPU  CUDA" in out, (args, out)
        assert code == (1 if "warning: GPU" in out else 0), (args, code, out)


# -- --watch ---------------------------------------------------------------------------------------


def test_watch_redraws_until_ctrl_c_and_leaves_quietly(gpus, monkeypatch):
    from envcheck.cli import gpus_cmd

    naps = []

    def sleep(seconds):
        naps.append(seconds)
        if len(naps) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(gpus_cmd, "time", SimpleNamespace(sleep=sleep))
    code, out, err = gpus(BOX, "--watch", "--interval", "0.5")
    assert code == 130 and err == "" and naps == [0.5, 0.5, 0.5]
    assert out.count("every 0.5s; Ctrl-C to stop") == 3 and out.count("GPU  CUDA") == 3
    _fits(out)
    # one NVML session for every frame, ended at Ctrl-C: GPUs without persistence mode start once
    import pynvml

    fake = pynvml.nvmlInit.__self__
    assert (fake.init_calls, fake.shutdown_calls) == (1, 1)


# -- colour and markdown ---------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _screen(machine, monkeypatch, env: dict) -> str:
    from envcheck import gpus as service
    from envcheck.probes.nvml import read_driver
    from envcheck.render import gpus as render
    from envcheck.render.console import Output

    for k, v in env.items():
        monkeypatch.setenv(k, v) if v is not None else monkeypatch.delenv(k, raising=False)
    machine(BOX)
    buf = _Terminal()
    render.text(service.build(read_driver(), {}), Output(buf), 80)
    return buf.getvalue()


def test_a_terminal_sees_the_load_in_colour(machine, monkeypatch):
    screen = _screen(machine, monkeypatch, {"NO_COLOR": None, "TERM": "xterm-256color"})
    rows = screen.splitlines()[2:6]
    assert rows[0].startswith("\033[32m") and rows[3].startswith("\033[32m")  # free: green
    assert rows[1].startswith("\033[31m") and rows[2].startswith("\033[31m")  # busy: red
    assert "\033" not in _screen(machine, monkeypatch, {"NO_COLOR": "1", "TERM": "xterm-256color"})


def test_markdown_is_a_fenced_block(gpus):
    code, out, _ = gpus(BOX, "--format", "markdown")
    assert code == 0 and out.startswith("## envcheck gpus\n\n```text\n") and out.rstrip().endswith("```")


def test_gpus_is_listed_in_the_help(run_cli):
    code, out, _ = run_cli("--help")
    assert code == 0 and "gpus" in out


def test_help_of_gpus(run_cli):
    code, out, err = run_cli("gpus", "--help")
    assert code == 0 and "--pick" in out and "--watch" in out and "--json" in out


def test_readme_describes_the_command():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert "envcheck gpus" in readme and "--pick" in readme


# -- GPUs this process may not open (Slurm, Kubernetes) ----------------------------------------------


def _slurm_job_on_gpus_4_and_5(m):
    """An 8-GPU node where this job's cgroup lets it open GPUs 4 and 5 only: NVML counts all eight
    and refuses the others' handles (NVML_ERROR_NO_PERMISSION); CUDA enumerates the two."""
    for i in (0, 1, 2, 3, 6, 7):
        m["gpus"][i].setdefault("errors", {})["nvmlDeviceGetHandleByIndex"] = "NVML_ERROR_NO_PERMISSION"


def test_other_jobs_gpus_are_one_note_not_a_warning_each(gpus):
    code, out, err = gpus("driver580_h100x8", edit=_slurm_job_on_gpus_4_and_5)
    assert code == 0, out
    assert "cannot be read" not in out and out.count("another job's") == 6
    assert "GPUs 0, 1, 2, 3, 6, 7 belong to other jobs" in " ".join(out.split())
    assert "GPU 4 is cuda:0, GPU 5 is cuda:1" in " ".join(out.split())


def test_pick_on_a_slurm_node_counts_cuda_indices_among_the_jobs_gpus(gpus):
    code, out, err = gpus("driver580_h100x8", "--pick", "2", "--quiet", edit=_slurm_job_on_gpus_4_and_5)
    assert code == 0 and out.strip() == "CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0,1 torchrun --nproc-per-node=2 train.py"
    code, out, err = gpus("driver580_h100x8", "--pick", "3", edit=_slurm_job_on_gpus_4_and_5)
    assert code == 2 and "may use 2 of the machine's 8 GPUs" in err
    code, out, err = gpus("driver580_h100x8", "--pick", "1,", edit=_slurm_job_on_gpus_4_and_5)
    assert code == 2 and "GPU 1 belongs to another job" in err and "choose from 4, 5" in err


def test_visible_devices_index_the_jobs_own_gpus(gpus, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")  # as Slurm sets it: the job's second GPU, GPU 5
    code, out, err = gpus("driver580_h100x8", "--json", edit=_slurm_job_on_gpus_4_and_5)
    data = json.loads(out)
    assert [g["cuda_ordinal"] for g in data["gpus"]] == [None] * 5 + [0, None, None]
    assert data["warnings"] == [] and code == 0


# -- MIG ----------------------------------------------------------------------------------------------


def test_mig_devices_are_listed_under_their_gpu_with_the_one_cuda_uses(gpus):
    code, out, err = gpus("a100_mig")
    assert code == 0, out
    lines = out.splitlines()
    assert sum("└ MIG 3g.40gb" in line for line in lines) == 2 and any("└ MIG 1g.10gb" in line for line in lines)
    # before R570 a process gets the first MIG device only: that one is cuda:0, the GPUs themselves none
    assert [line.split()[0] for line in lines if "└ MIG" in line] == ["cuda:0", "-", "-", "-", "-"]
    assert "one CUDA process uses one MIG device" in " ".join(out.split())
    code, out, err = gpus("a100_mig", "--json")
    data = json.loads(out)
    mig = data["gpus"][0]["mig_devices"][0]
    assert (mig["profile"], mig["cuda_ordinal"], mig["memory_used_mib"], mig["sm_count"]) == ("3g.40gb", 0, 20493, 42)
    assert mig["uuid"].startswith("MIG-") and mig["processes"][0]["pid"] == 39123


def test_pick_on_a_mig_box_picks_mig_devices_each_its_own_job(gpus):
    code, out, err = gpus("a100_mig", "--pick", "1", "--quiet")
    assert code == 0 and out.strip() == "CUDA_VISIBLE_DEVICES=MIG-00000001-0000-5afc-978f-d2f129440900 torchrun --nproc-per-node=1 train.py"
    code, out, err = gpus("a100_mig", "--pick", "2", "--json")
    pick = json.loads(out)["pick"]
    assert pick["mig_devices"] == ["MIG-00000001-0000-5afc-978f-d2f129440900", "MIG-00000000-0001-5afc-978f-d2f129440901"]
    assert pick["command"].count("\n") == 1 and all(line.startswith("CUDA_VISIBLE_DEVICES=MIG-") for line in pick["command"].splitlines())
    assert "separate jobs" in " ".join(pick["notes"])
    code, out, err = gpus("a100_mig", "--pick", "6")
    assert code == 2 and "5 devices (GPUs and MIG devices) can be picked here" in err
    code, out, err = gpus("a100_mig", "--pick", "0,")
    assert code == 2 and "GPU 0 is in MIG mode" in err


def test_markdown_of_a_mig_pick_leaves_the_mig_uuids_out(gpus):
    code, out, err = gpus("a100_mig", "--pick", "2", "--format", "markdown")
    assert "MIG-0000" not in out and "CUDA_VISIBLE_DEVICES=MIG-<uuid of device 1> torchrun" in out
