"""Every printed command runs what it says in the shell it is printed for (envcheck/shell.py).

POSIX lines go through a real bash: the argv bash hands a program must be the argv envcheck meant.
cmd.exe and PowerShell are not here, so each is a small model written from Microsoft's documentation:

- cmd.exe: `&`, `|`, `<`, `>` start another command or redirect outside double quotes, `^` escapes
  the next character there, `"` toggles quoting, `%NAME%` (and `!NAME!` under delayed expansion) is
  expanded even inside quotes; the rest of the line reaches the program as it is.
  https://learn.microsoft.com/en-us/windows-server/administration/windows-commands/cmd
  https://learn.microsoft.com/en-us/windows-server/administration/windows-commands/set_1 ("^" and "&|<>")
- The program splits its command line by the MSVCRT / CommandLineToArgvW rules: whitespace outside
  quotes separates; 2n backslashes before " give n and toggle quoting, 2n+1 give n and a literal ";
  backslashes elsewhere are literal; inside quotes "" is a literal ".
  https://learn.microsoft.com/en-us/cpp/c-language/parsing-c-command-line-arguments
  https://learn.microsoft.com/en-us/windows/win32/api/shellapi/nf-shellapi-commandlinetoargvw
- PowerShell argument mode: single-quoted strings are verbatim, a quote inside doubled (the
  typographic ‘ ’ ‚ ‛ count as quotes too); $ ` " ' ; & ( ) { } @ # , | < > are syntax in a bare word.
  https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.core/about/about_quoting_rules
  https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.core/about/about_parsing
"""

from __future__ import annotations

import random
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envcheck import gpu_pick, shell
from envcheck.compat import tables
from envcheck.errors import UserError
from envcheck.install import Machine, Request, solve
from envcheck.snapshot.facts import Installed

HOSTILE = ["a&calc", "%PATH%", "!x!", "$(id)", "`id`", "'; rm -rf ~ #", "a b", "--clear", "名字", "a\nb", "x|y", "a^b", "c:\\a b\\",
           'say "hi"\\', "‘x’", "@(1)", "a,b", "{x}", "-x", "", "~", "*", "$HOME", "a;b", "(x)", "#x"]


def _random_values(n: int = 60) -> list[str]:
    """Seeded random words over the characters the shells treat specially, for the bash round trip."""
    rng = random.Random(22)
    alphabet = "a Z0-_./\\'\"$`!%^&|<>;(){}[]*?~#@,=\t\n名‘’"
    return [''.join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(n)]


# -- models of cmd.exe, the MSVCRT rules and PowerShell ---------------------------------------------


def cmd_reads(text: str) -> str:
    """What cmd.exe hands the program for a typed line; AssertionError where cmd would expand a
    variable, start another command or redirect."""
    assert "%" not in text and "!" not in text and "\n" not in text, f"cmd.exe would expand or end: {text!r}"
    out, inside, i = [], False, 0
    while i < len(text):
        c = text[i]
        if c == '"':
            inside = not inside
        elif not inside and c == "^":
            i += 1
            c = text[i]
            out.append(c)
            i += 1
            continue
        elif not inside and c in "&|<>":
            raise AssertionError(f"cmd.exe reads {c!r} itself in {text!r}")
        out.append(c)
        i += 1
    return "".join(out)


def msvcrt_argv(line: str) -> list[str]:
    """A command line split as a C program's start-up code does (argv[0] too, by its simpler rule)."""
    i, n = 0, len(line)
    if line.startswith('"'):
        end = line.index('"', 1)
        argv, i = [line[1:end]], end + 1
    else:
        end = next((k for k, c in enumerate(line) if c in " \t"), n)
        argv, i = [line[:end]], end
    while True:
        while i < n and line[i] in " \t":
            i += 1
        if i >= n:
            return argv
        word, inside = [], False
        while i < n and (inside or line[i] not in " \t"):
            if line[i] == "\\":
                j = i
                while j < n and line[j] == "\\":
                    j += 1
                count = j - i
                if j < n and line[j] == '"':
                    word.append("\\" * (count // 2))
                    if count % 2:
                        word.append('"')
                        i = j + 1
                    else:
                        i = j
                    continue
                word.append("\\" * count)
                i = j
                continue
            if line[i] == '"':
                if inside and i + 1 < n and line[i + 1] == '"':
                    word.append('"')
                    i += 2
                    continue
                inside = not inside
                i += 1
                continue
            word.append(line[i])
            i += 1
        argv.append("".join(word))


def powershell_argv(line: str) -> list[str]:
    """A native command's words as PowerShell's argument mode reads them; AssertionError on syntax."""
    quotes = "'\u2018\u2019\u201a\u201b"
    if line.startswith("& '"):
        line = line[2:]
    words, i, n = [], 0, len(line)
    while i < n:
        if line[i] == " ":
            i += 1
            continue
        if line[i] in quotes:
            word, i = [], i + 1
            while True:
                assert i < n, f"unclosed quote in {line!r}"
                if line[i] in quotes:
                    if i + 1 < n and line[i + 1] in quotes:
                        word.append(line[i])
                        i += 2
                        continue
                    i += 1
                    break
                word.append(line[i])
                i += 1
            words.append("".join(word))
            continue
        j = i
        while j < n and line[j] != " ":
            j += 1
        bare = line[i:j]
        assert not any(c in "$`\"';&(){}@#,|<>" for c in bare) and not bare.startswith("-"), f"PowerShell reads {bare!r} as syntax"
        words.append(bare)
        i = j
    return words


def bash_argvs(lines: list[str]) -> list[list[str]]:
    """The argv each POSIX line hands its program, as a real bash parses it: one bash for all."""
    script = "".join(f"printf '%s\\0' {line}; printf '\\1\\0'\n" for line in lines)
    done = subprocess.run(["bash", "-c", script], capture_output=True, timeout=30, env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"})
    assert done.returncode == 0, done.stderr
    out, current = [], []
    for word in done.stdout.decode("utf-8").split("\0")[:-1]:
        if word == "\1":
            out.append(current)
            current = []
        else:
            current.append(word)
    return out


# -- the quoting functions, value by value ----------------------------------------------------------


def test_posix_lines_give_bash_the_intended_argv():
    values = [v for v in HOSTILE + _random_values() if v]
    argvs = [["python", "-m", "venv", v] for v in values] + [[v, "-m", "pip", "install", "torch==2.6.0"] for v in values]
    assert bash_argvs([shell.posix(a) for a in argvs]) == argvs


def _cmd_holds(word: str) -> bool:
    return not any(c in word for c in "%!\n\r")


@pytest.mark.parametrize("value", HOSTILE)
def test_cmd_lines_give_the_program_the_intended_argv_or_are_refused(value):
    argv = ["python", "-m", "venv", value]
    if not _cmd_holds(value):
        with pytest.raises(shell.Unquotable, match="cmd.exe"):
            shell.cmd(argv)
        return
    assert msvcrt_argv(cmd_reads(shell.cmd(argv))) == argv
    program = [f"{value}\\Scripts\\activate"]
    if '"' in value:
        with pytest.raises(shell.Unquotable, match="program's path"):
            shell.cmd(program)
        return
    assert msvcrt_argv(cmd_reads(shell.cmd(program))) == program


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00"), max_size=10),
                min_size=1, max_size=4))
def test_cmd_round_trip_for_generated_words(words):
    argv = ["C:\\Program Files\\prog.exe", *words]
    if not all(_cmd_holds(w) for w in words):
        with pytest.raises(shell.Unquotable):
            shell.cmd(argv)
        return
    assert msvcrt_argv(cmd_reads(shell.cmd(argv))) == argv


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=10), min_size=1, max_size=4))
def test_powershell_round_trip_for_generated_words(words):
    if any('"' in w for w in words):
        with pytest.raises(shell.Unquotable, match="PowerShell"):
            shell.powershell(words)
        return
    assert powershell_argv(shell.powershell(words)) == words


@pytest.mark.parametrize("value", [v for v in HOSTILE if '"' not in v and "\n" not in v])
def test_powershell_hostile_values(value):
    argv = [value, "-m", "pip", "install", "torch==2.6.0"]
    assert powershell_argv(shell.powershell(argv)) == argv


def test_the_models_catch_what_they_model():
    """The models are not a mirror of the quoting: they reject what the shells would misread."""
    with pytest.raises(AssertionError):
        cmd_reads("python -m venv a&calc")  # subprocess.list2cmdline's form: cmd.exe runs calc
    with pytest.raises(AssertionError):
        cmd_reads('python -m venv "%PATH%"')
    with pytest.raises(AssertionError):
        powershell_argv("python -m venv $(id)")
    assert msvcrt_argv(cmd_reads('x "a\\"^&calc"')) == ["x", 'a"&calc']


# -- the printed forms: install plans, doctor's fixes, gpus --pick -----------------------------------


def _plan_lines(os_name: str, manager: str, env: str | None, interpreter: str | None):
    machine = Machine(os_name, "x86_64", "3.12", None, (), installed=Installed("2.6.0+cpu", "0.21.0+cpu", "2.6.0+cpu", "pip"),
                      local=True)
    plan = solve(tables(), machine, Request(torch="2.6.0", cuda=(12, 6), python="3.12", manager=manager, env=env, interpreter=interpreter))
    return [(s.argv, plan.shell(s)) for s in plan.steps]


@pytest.mark.parametrize("manager", ["pip", "uv", "conda"])
def test_every_step_of_a_linux_plan_survives_bash(manager):
    cases = []
    for value in [v for v in HOSTILE if v and not v.startswith("-")]:
        cases += _plan_lines("linux", manager, value, None)
        cases += _plan_lines("linux", manager, None, f"/opt/{value}/bin/python")
    assert bash_argvs([line for _, line in cases]) == [list(argv) for argv, _ in cases]


@pytest.mark.parametrize("manager", ["pip", "uv", "conda"])
@pytest.mark.parametrize("value", [v for v in HOSTILE if v and not v.startswith("-")])
def test_every_step_of_a_windows_plan_survives_cmd_or_is_refused(manager, value):
    for env, interpreter in ((value, None), (None, f"C:\\envs\\{value}\\python.exe")):
        try:
            lines = _plan_lines("windows", manager, env, interpreter)
        except UserError as exc:  # refused: only for what cmd.exe cannot hold, or a " in a program's path
            assert not _cmd_holds(value) or '"' in value, exc
            continue
        assert _cmd_holds(value) or env is None  # an --env name is always printed; conda's env has its own Python
        for argv, line in lines:
            assert msvcrt_argv(cmd_reads(line)) == list(argv)


@pytest.mark.parametrize("name", ["--clear", "-x"])
def test_a_name_that_reads_as_an_option_is_refused(run_cli, name):
    code, out, err = run_cli("install-cmd", "--env", name, "--cpu", "--quiet")
    assert code == 2 and out == ""
    assert err == f"envcheck: error: --env {name!r}: a name that starts with '-' would be read as an option: choose another name\n"


def test_windows_install_cmd_quotes_for_cmd_and_refuses_percent(run_cli):
    code, out, _ = run_cli("install-cmd", "--os", "windows", "--cpu", "--env", "a&calc", "--quiet")
    assert code == 0 and 'python -m venv "a&calc"' in out.splitlines() and '"a&calc\\Scripts\\activate"' in out.splitlines()
    code, out, err = run_cli("install-cmd", "--os", "windows", "--cpu", "--env", "%PATH%", "--quiet")
    assert code == 2 and out == "" and err.count("\n") == 1 and "cmd.exe expands %NAME%" in err and "--env" in err


# Compound and tricky --cmd values: whatever the command, every part of it runs with the variable.
JOBS = ["cd / && printenv CUDA_VISIBLE_DEVICES", "true; printenv CUDA_VISIBLE_DEVICES", "echo x | printenv CUDA_VISIBLE_DEVICES",
        "(printenv CUDA_VISIBLE_DEVICES)", "{ printenv CUDA_VISIBLE_DEVICES; }", "if true; then printenv CUDA_VISIBLE_DEVICES; fi",
        "printenv CUDA_VISIBLE_DEVICES # '; rm -rf ~", "source /dev/null && printenv CUDA_VISIBLE_DEVICES",
        "false || printenv CUDA_VISIBLE_DEVICES", "printenv CUDA_VISIBLE_DEVICES > /dev/stdout", "printenv 'CUDA_VISIBLE_DEVICES'",
        "OMP_NUM_THREADS=1 printenv CUDA_VISIBLE_DEVICES", "cd / && echo $(printenv CUDA_VISIBLE_DEVICES)",
        "printenv CUDA_VISIBLE_DEVICES & wait", "exec printenv CUDA_VISIBLE_DEVICES", "time printenv CUDA_VISIBLE_DEVICES"]


def test_a_picked_job_runs_on_the_picked_gpus_whatever_the_command():
    script = "".join(shell.with_env({"CUDA_DEVICE_ORDER": "PCI_BUS_ID", "CUDA_VISIBLE_DEVICES": "0,2"}, job, shell.POSIX) + "\n"
                     for job in JOBS)
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin"})
    assert done.stdout.split() == ["0,2"] * len(JOBS), (done.stdout, done.stderr)


def test_a_simple_command_keeps_its_one_line_form():
    line = shell.with_env({"CUDA_VISIBLE_DEVICES": "1"}, "torchrun --nproc-per-node=1 train.py --name 'a b'", shell.POSIX)
    assert line == "CUDA_VISIBLE_DEVICES=1 torchrun --nproc-per-node=1 train.py --name 'a b'"
    line = shell.with_env({"CUDA_VISIBLE_DEVICES": "1"}, "cd / && python train.py", shell.POSIX)
    assert line == "CUDA_VISIBLE_DEVICES=1 bash -c 'cd / && python train.py'"


def test_gpus_pick_with_a_compound_command(run_cli, machine, monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    machine("rtx3090x4_throttled")
    code, out, _ = run_cli("gpus", "--pick", "2", "--cmd", "cd / && python train.py", "--quiet")
    assert out == "CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0,3 bash -c 'cd / && python train.py'\n"


def test_the_windows_pick_sets_the_variables_on_lines_of_their_own(machine, monkeypatch):
    from envcheck import gpus as service
    from envcheck.probes import nvml

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    machine("rtx3090x4_throttled")
    report = service.build(nvml.read_driver(), {}, None, None, None)
    chosen = gpu_pick.pick(report, "2", "cd \\ && python train.py", shell.CMD)
    assert chosen.command.split("\n") == ['set "CUDA_DEVICE_ORDER=PCI_BUS_ID"', 'set "CUDA_VISIBLE_DEVICES=0,3"', "cd \\ && python train.py"]
    assert any("$env:CUDA_VISIBLE_DEVICES='0,3'" in n for n in chosen.notes)
    ps = next(n for n in chosen.notes if "PowerShell" in n).split("with: ", 1)[1]
    assert [w for part in ps.split("; ") for w in powershell_argv(part.split("=", 1)[1])] == ["PCI_BUS_ID", "0,3"]


# -- consoles that cannot show a character of a command ---------------------------------------------


def _envcheck(encoding: str, *args: str):
    import os

    env = {**os.environ, "PYTHONIOENCODING": encoding}
    done = subprocess.run([sys.executable, "-m", "envcheck", *args], capture_output=True, env=env, timeout=120)
    return done.returncode, done.stdout.decode(encoding), done.stderr.decode(encoding)


def test_a_command_the_console_cannot_show_is_refused_not_changed():
    code, out, err = _envcheck("ascii", "install-cmd", "--cpu", "--env", "名字", "--os", "linux", "--quiet")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "cannot show" in err and "PYTHONIOENCODING=utf-8" in err and "chcp 65001" in err


def test_chinese_in_a_command_passes_through_gbk():
    code, out, err = _envcheck("gbk", "install-cmd", "--cpu", "--env", "名字", "--os", "linux", "--quiet")
    assert code == 0, err
    assert "python3 -m venv '名字'" in out.splitlines() and "source '名字/bin/activate'" in out.splitlines()


def test_a_fix_the_console_cannot_show_says_so_on_its_line():
    import io

    from envcheck.render.console import Output

    ascii_out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    Output(ascii_out).command("fix: ", "/home/名/bin/python -m pip install torch")
    ascii_out.seek(0)
    shown = ascii_out.read()
    assert shown.startswith("fix: (not shown: this console (ascii) cannot show") and "?" not in shown.split("cannot show")[0]
    assert "/home/" not in shown and "PYTHONIOENCODING=utf-8" in shown


def test_a_pick_line_the_console_cannot_show_is_refused(machine, monkeypatch):
    import io

    from envcheck import gpus as service
    from envcheck.probes import nvml
    from envcheck.render import gpus as render
    from envcheck.render.console import Output

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    machine("rtx3090x4_throttled")
    report = service.build(nvml.read_driver(), {}, None, None, None)
    chosen = gpu_pick.pick(report, "1", "python 训练.py")
    ascii_out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    with pytest.raises(UserError, match="cannot show '训'"):
        render.text(report, Output(ascii_out), 80, chosen)
    gbk_out = io.StringIO()
    render.text(report, Output(gbk_out), 80, chosen, quiet=True)
    assert gbk_out.getvalue() == "CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0 python 训练.py\n"
