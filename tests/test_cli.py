"""What a user sees: the real entry point on replayed machines (fake NVML), exit codes included."""

from __future__ import annotations

import json
import shlex
import sys

import pytest

from envcheck.compat import Tables

T = Tables()
PY = f"{sys.version_info[0]}.{sys.version_info[1]}"


def commands(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line and not line.startswith("#")]


def test_install_cmd_on_driver_535_gtx1080ti(machine, run_cli):
    machine("driver535_gtx1080ti")
    code, out, err = run_cli("install-cmd", "--explain")
    assert code == 0, err
    cmds = commands(out)
    assert "--index-url https://download.pytorch.org/whl/cu126" in cmds[0]
    assert "drops sm_61" in out
    assert out.splitlines()[0].startswith("# torch ")


def test_install_cmd_with_mirror_leaves_pip_config_alone_unless_persist(machine, run_cli):
    machine("driver580_h100x8")
    code, out, _ = run_cli("install-cmd", "--mirror", "tuna")
    assert code == 0
    cmds = commands(out)
    assert not any("pip config" in c for c in cmds)
    assert cmds[0].startswith("pip install torch==") and "-index-url https://pypi.tuna.tsinghua.edu.cn/simple" in cmds[0]
    assert cmds[-1].startswith("python -c ")
    assert "torch.version.cuda" in cmds[-1]
    code, out, _ = run_cli("install-cmd", "--mirror", "tuna", "--persist")
    assert code == 0
    assert commands(out)[0] == "pip config set global.index-url https://pypi.tuna.tsinghua.edu.cn/simple"


def test_install_cmd_routes_cuda_wheels_through_a_china_copy_of_pytorchs_index(machine, run_cli):
    machine("driver535_gtx1080ti")
    code, out, _ = run_cli("install-cmd", "--mirror", "tsinghua")
    assert code == 0
    assert commands(out)[0].endswith("--index-url https://mirror.sjtu.edu.cn/pytorch-wheels/cu126 --extra-index-url https://pypi.tuna.tsinghua.edu.cn/simple")
    assert "sjtu comes first of the copies with cu126 builds" in out
    code, out, _ = run_cli("install-cmd", "--mirror", "tuna", "--torch-mirror", "阿里云", "--manager", "uv", "--python", "3.11")
    assert code == 0
    assert "-f https://mirrors.aliyun.com/pytorch-wheels/cu126/ --index-url https://pypi.tuna.tsinghua.edu.cn/simple" in commands(out)[0]
    assert "torch==2.14.1+cu126" in commands(out)[0] and "chosen with --torch-mirror aliyun" in out
    code, out, _ = run_cli("install-cmd", "--mirror", "tuna", "--torch-mirror", "pytorch")
    assert "--index-url https://download.pytorch.org/whl/cu126 --extra-index-url https://pypi.tuna.tsinghua.edu.cn/simple" in commands(out)[0]


@pytest.mark.parametrize("name, message", [
    ("tuna", "--torch-mirror tuna: tuna copies only the default index, not PyTorch's wheels: choose sjtu, nju, aliyun, pytorch"),
    ("sjtuu", "--torch-mirror 'sjtuu' is not a copy of PyTorch's wheel index envcheck knows: choose sjtu, nju, aliyun, pytorch"),
])
def test_a_torch_mirror_without_pytorchs_wheels_is_one_line_exit_2(machine, run_cli, name, message):
    machine("driver535_gtx1080ti")
    code, out, err = run_cli("install-cmd", "--mirror", "tuna", "--torch-mirror", name)
    assert code == 2 and out == ""
    assert err.strip() == f"envcheck: error: {message}"


def test_install_cmd_pinned_matches_the_official_line(machine, run_cli):
    machine("no_driver")
    code, out, _ = run_cli("install-cmd", "--cuda", "12.1", "--torch", "2.2.1", "--python", "3.10")
    assert code == 0
    assert commands(out)[0] == "pip install torch==2.2.1 torchvision==0.17.1 torchaudio==2.2.1 --index-url https://download.pytorch.org/whl/cu121"
    assert "no NVIDIA driver" in out  # warned, not refused: the user named the build


def test_install_cmd_cu113_form(machine, run_cli):
    machine("no_driver")
    code, out, _ = run_cli("install-cmd", "--cuda", "11.3", "--torch", "1.12.1", "--python", "3.10")
    assert code == 0
    assert commands(out)[0] == (
        "pip install torch==1.12.1+cu113 torchvision==0.13.1+cu113 torchaudio==0.12.1 --extra-index-url https://download.pytorch.org/whl/cu113"
    )


def test_install_cmd_without_driver_is_the_cpu_build(machine, run_cli):
    machine("no_driver")
    code, out, _ = run_cli("install-cmd")
    assert code == 0
    assert commands(out)[0].endswith("--index-url https://download.pytorch.org/whl/cpu")
    assert "(cpu)" in out.splitlines()[0]
    assert 'torch.version.cuda is None' in commands(out)[-1]


def test_install_cmd_json_is_the_plan(machine, run_cli):
    machine("driver570_rtx5090")
    code, out, _ = run_cli("install-cmd", "--json", "--explain")
    assert code == 0
    data = json.loads(out)
    assert data["schema_version"] == 1
    assert data["variant"] == "cu128"
    assert data["commands"][-2].startswith("pip install torch==")
    assert any(r["kind"] == "arch" for r in data["rejected"])


def test_install_cmd_markdown_is_a_fenced_block(machine, run_cli):
    machine("driver470_rtx3090")
    code, out, _ = run_cli("install-cmd", "--format", "markdown", "--explain")
    assert code == 0
    assert "```bash" in out and "| build | torch | rejected because |" in out


def test_install_cmd_for_windows_from_linux_quotes_for_windows(run_cli):
    code, out, _ = run_cli("install-cmd", "--os", "windows", "--cuda", "12.6", "--torch", "2.6.0", "--python", "3.12")
    assert code == 0
    verify = commands(out)[-1]
    assert verify.startswith('python -c "import torch;')


def test_install_cmd_conda_env(run_cli, machine):
    machine("no_driver")
    code, out, _ = run_cli("install-cmd", "--manager", "conda", "--torch", "2.3.1", "--cuda", "12.1", "--env", "dl", "--python", "3.10")
    assert code == 0
    cmds = commands(out)
    assert cmds[:2] == ["conda create -n dl python=3.10 -y", "conda activate dl"]
    assert cmds[2] == "conda install pytorch==2.3.1 torchvision==0.18.1 torchaudio==2.3.1 pytorch-cuda=12.1 -c pytorch -c nvidia"


def test_install_cmd_conda_after_the_channel_ended(run_cli, machine):
    machine("driver580_h100x8")
    code, out, _ = run_cli("install-cmd", "--manager", "conda")
    assert code == 0
    assert "stopped publishing there after 2.5" in out
    assert commands(out)[2].startswith("pip install torch==")


@pytest.mark.parametrize(
    "args,needle",
    [
        (["install-cmd", "--cuda", "12.x"], "--cuda '12.x' is not a CUDA version"),
        (["install-cmd", "--torch", "9.9"], "torch 9.9 is newer than envcheck's tables"),
        (["install-cmd", "--torch", "2.2.1", "--cuda", "11.3"], "torch 2.2.1 has no cu113 build"),
        (["install-cmd", "--python", "3.13", "--torch", "1.12.1"], "no wheels for Python 3.13"),
        (["install-cmd", "--mirror", "nowhere"], "--mirror 'nowhere' is not a mirror envcheck knows: choose one of tuna"),
        (["install-cmd", "--manager", "poetry"], "--manager 'poetry' is not one of: pip, conda, uv"),
        (["install-cmd", "--os", "solaris"], "--os 'solaris' is not one of"),
        (["install-cmd", "--cpu", "--cuda", "12.1"], "contradict"),
        (["install-cmd", "--python", "three"], "is not a Python version"),
        (["install-cmd", "--driver", "abc"], "is not an NVIDIA driver version"),
        (["install-cmd", "--gpu", "Voodoo 5"], "neither a GPU envcheck knows"),
        (["install-cmd", "--nope"], "No such option"),
        (["compat"], "exactly one of"),
        (["compat", "--cuda", "99.9"], "is not a CUDA release"),
        (["compat", "--torch", "0.4.1"], "not in envcheck's tables"),
        (["mirror", "set", "nowhere", "--dry-run"], "'nowhere' is not a mirror envcheck knows"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(machine, run_cli, args, needle):
    machine("no_driver")
    code, out, err = run_cli(*args)
    assert code == 2
    assert needle in err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and out == ""


def test_debug_shows_the_traceback(machine, run_cli):
    machine("no_driver")
    from envcheck.errors import UserError

    with pytest.raises(UserError):
        run_cli("--debug", "install-cmd", "--cuda", "12.x")


def test_compat_driver(run_cli):
    code, out, _ = run_cli("compat", "--driver", "470.82.01")
    assert code == 0
    assert "newest: CUDA 11.4" in out
    assert "minor-version compatibility" in out
    assert "cu118" in out


def test_compat_torch(run_cli):
    code, out, _ = run_cli("compat", "--torch", "2.2.1", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["release"]["torchvision"] == "0.17.1" and data["release"]["torchaudio"] == "2.2.1"
    cmds = {v["variant"]: v["command"] for v in data["variants"]}
    assert cmds["cu121"] == "pip install torch==2.2.1 torchvision==0.17.1 torchaudio==2.2.1 --index-url https://download.pytorch.org/whl/cu121"


def test_compat_torch_lists_free_threaded_pythons_and_the_lts_index(run_cli):
    code, out, _ = run_cli("compat", "--torch", "2.10.0")
    assert code == 0
    assert "Python on Linux x86_64: 3.10, 3.11, 3.12, 3.13, 3.14, 3.13t, 3.14t;" in out
    code, out, _ = run_cli("compat", "--torch", "1.8.2", "--json")
    assert code == 0
    data = json.loads(out)
    cmds = {v["variant"]: v["command"] for v in data["variants"]}
    assert cmds["cu111"] == "pip install torch==1.8.2 torchvision==0.9.2 torchaudio==0.8.2 --extra-index-url https://download.pytorch.org/whl/lts/1.8/cu111"


def test_compat_cuda_13_gives_no_invented_windows_driver(run_cli):
    code, out, _ = run_cli("compat", "--cuda", "13.0")
    assert code == 0
    assert "Windows —" in out and "minor-version compatibility" in out


def test_compat_cuda(run_cli):
    code, out, _ = run_cli("compat", "--cuda", "12.1")
    assert code == 0
    assert "Linux 530.30.02" in out
    assert "2.2.1" in out and "2.5.1" in out


def test_compat_gpu(run_cli):
    code, out, _ = run_cli("compat", "--gpu", "NVIDIA GeForce GTX 1080 Ti")
    assert code == 0
    assert "6.1" in out and "cu126" in out
    assert "cu128" in out.split("without kernels", 1)[1]


def test_version(run_cli):
    code, out, _ = run_cli("--version")
    assert code == 0 and out.startswith("envcheck ")


def test_stdout_is_a_runnable_script(machine, run_cli):
    """Every non-comment line parses as a shell command: the output can be piped to sh."""
    machine("driver535_gtx1080ti")
    code, out, _ = run_cli("install-cmd", "--mirror", "aliyun", "--explain")
    assert code == 0
    for line in commands(out):
        shlex.split(line)


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch):
    import io

    from envcheck.render.console import Output

    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    tty = Tty()
    Output(tty).print("# why", style="bold")
    assert tty.getvalue() == "\033[1m# why\033[0m\n"
    piped = io.StringIO()
    Output(piped).print("# why", style="bold")
    assert piped.getvalue() == "# why\n"
    monkeypatch.setenv("NO_COLOR", "1")
    tty = Tty()
    Output(tty).print("# why", style="bold")
    assert tty.getvalue() == "# why\n"


def test_quiet_prints_only_the_commands(machine, run_cli):
    machine("driver470_rtx3090")
    code, out, _ = run_cli("install-cmd", "-q", "--mirror", "tuna", "--persist")
    assert code == 0
    lines = out.splitlines()
    assert lines == commands(out) and len(lines) == 3
    assert lines[0].startswith("pip config set") and lines[2].startswith("python -c")


def test_an_internal_error_is_one_line_not_a_traceback(run_cli, monkeypatch):
    import envcheck.install

    def boom(*a, **k):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(envcheck.install, "solve", boom)
    monkeypatch.setattr("envcheck.cli.install_cmd.solve", boom)
    code, out, err = run_cli("install-cmd", "--cpu")
    assert code == 2 and "internal error: RuntimeError: simulated bug" in err and "Traceback" not in err


@pytest.mark.parametrize("said, name", [("3090", "NVIDIA GeForce RTX 3090"), ("A100 80GB", "NVIDIA A100 80GB PCIe"), ("V100", "V100"),
                                        ("1080 Ti", "NVIDIA GeForce GTX 1080 Ti"), ("sm_86", "compute capability 8.6"),
                                        ("6.1", "compute capability 6.1")])
def test_compat_finds_a_gpu_as_people_write_it(run_cli, said, name):
    code, out, err = run_cli("compat", "--gpu", said)
    assert code == 0, err
    assert name in out.splitlines()[0]


def test_an_unknown_gpu_gets_the_nearest_names(run_cli):
    code, out, err = run_cli("compat", "--gpu", "RTX 30")
    assert code == 2 and "did you mean" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("said", ["4090D", "RTX 4090 D", "4090 d"])
def test_the_china_sku_is_found_as_people_write_it_and_keeps_its_own_figures(run_cli, said):
    code, out, err = run_cli("compat", "--gpu", said)
    assert code == 0 and out.startswith("NVIDIA GeForce RTX 4090 D — Ada") and "114 SMs" in out


def test_a_gpu_variant_envcheck_lacks_points_to_its_family(run_cli):
    code, out, err = run_cli("compat", "--gpu", "4070D")  # no such row: the 4070 family is the nearest
    assert code == 2 and "did you mean 'NVIDIA GeForce RTX 4070" in err and "compute capability" in err


def test_compat_says_how_sure_the_figures_are_without_the_research_notes(run_cli):
    code, out, err = run_cli("compat", "--gpu", "H20")
    assert code == 0 and "(not all from a datasheet)" in out
    assert "partial:" not in out and "sources read" not in out
