"""Whatever is typed and whatever state the machine is in: a result, or one line on stderr and exit
code 2. Never a traceback, an "internal error", a hang, a secret in the output, or JSON that a
strict parser refuses."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envcheck.redact import redact
from tests.test_doctor_cli import doctor  # noqa: F401 - the fixture: doctor on a replayed machine, isolated from this one

FAKES = Path(__file__).parent / "fakes" / "torch"
SPECS = Path(__file__).parent / "fixtures" / "torch"
REPORTS = Path(__file__).parent / "fixtures" / "reports"


def one_line_error(code, out, err):
    assert code == 2, (code, out[-300:], err)
    assert "Traceback" not in err and "internal error" not in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("envcheck: error: "), err


def strict_json(text: str):
    def refuse(name):
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


# -- numbers ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["doctor", "--no-torch", "--timeout", "nan"],
        ["doctor", "--no-torch", "--timeout", "inf"],
        ["doctor", "--timeout", "-5"],
        ["doctor", "--timeout", "1e308"],
        ["bench", "--device", "cpu", "--seconds", "nan"],
        ["bench", "--device", "cpu", "--seconds", "inf"],
        ["bench", "--device", "cpu", "--timeout", "-5"],
        ["bench", "--device", "cpu", "--timeout", "nan"],
        ["cluster", "--seconds", "nan"],
        ["cluster", "--timeout", "inf"],
        ["onnx", "--dim", "batch=100000000000"],
        ["onnx", "--dim", "batch=²"],
        ["onnx", "--dim", "batch=-1"],
    ],
    ids=lambda a: " ".join(a),
)
def test_numbers_are_finite_and_in_range(run_cli, args):
    one_line_error(*run_cli(*args))


@pytest.mark.parametrize("args", [[], ["mirror"]], ids=["envcheck", "envcheck mirror"])
def test_a_bare_command_names_the_commands(run_cli, args):
    code, out, err = run_cli(*args)
    assert code == 2 and "needs a command:" in err and len(err.strip().splitlines()) == 1


# -- saved reports of the wrong shape -------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    from envcheck.reports import read_report
    from envcheck.snapshot.json_io import dump

    return dump(read_report((REPORTS / "driver_too_old_a100_torch2_1_cu121.txt").read_text()))


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(schema_version="1"),
        lambda d: d.update(system="oops"),
        lambda d: d.update(torch=[1, 2]),
        lambda d: d["driver"].update(gpus="x"),
        lambda d: d["driver"].update(driver_version=5),
        lambda d: d.update(packages=[{"name": 1}]),
        lambda d: d.update(pasted=[{"signature": "x", "text": "y", "groups": {"a": [1]}}]),
    ],
)
def test_a_snapshot_of_the_wrong_shape_is_one_line(run_cli, tmp_path, saved, change):
    data = json.loads(json.dumps(saved))
    change(data)
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data))
    one_line_error(*run_cli("doctor", "--from", str(path)))


def test_deeply_nested_json_is_one_line(run_cli, tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"a":' * 100_000 + "1" + "}" * 100_000)
    one_line_error(*run_cli("doctor", "--from", str(path)))


_VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=8), st.just([]), st.just({}))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_value_anywhere_in_a_saved_snapshot_is_read_or_refused_in_one_line(saved, data):
    from envcheck.checks import run_all
    from envcheck.compat import tables
    from envcheck.errors import UserError
    from envcheck.render import doctor as render
    from envcheck.snapshot.json_io import load

    doc = json.loads(json.dumps(saved))
    node = doc
    while True:  # walk to a random leaf and replace it
        keys = list(node.keys()) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        key = data.draw(st.sampled_from(keys))
        if isinstance(node[key], (dict, list)) and node[key] and data.draw(st.booleans()):
            node = node[key]
            continue
        node[key] = data.draw(_VALUES)
        break
    try:
        s = load(doc)
    except UserError as exc:
        assert "\n" not in str(exc)
        return
    findings = run_all(s, tables())
    strict_json(json.dumps(render.as_dict(s, findings), allow_nan=True).replace("NaN", "null"))
    render.markdown(s, findings)


# -- faults of the environment ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, box, field, value",
    [("cpu_build", "no_driver", "version", v) for v in ("unknown", None, "", "²", "2.x", "9.9.9+cu999")]
    + [("cuda_h100x8", "driver580_h100x8", "cuda", v) for v in ("12.x", "abc", "²", "13")],
)
def test_an_odd_torch_version_is_a_fact_not_a_crash(doctor, spec, box, field, value):  # noqa: F811 - the fixture above
    """On its own machine (a CPU build where there is no driver; the CUDA build on the H100s, whose
    driver runs any CUDA 12 or 13 build) an unreadable version changes no verdict: exit code 0, and
    the snapshot keeps the text torch gave as it was."""
    data = json.loads((SPECS / f"{spec}.json").read_text())
    data[field] = value
    code, report = doctor(box, data)
    assert code == 0, report["findings"]
    assert report["snapshot"]["torch"]["status"] == "ok" and report["snapshot"]["torch"][field] == str(value)
    assert all(f["severity"] == "info" for f in report["findings"]), report["findings"]


def test_a_superscript_in_cuda_visible_devices_is_a_finding(run_cli, monkeypatch, machine):
    machine("driver535_gtx1080ti")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "²")
    code, out, err = run_cli("doctor", "--no-torch", "--json")
    assert "internal error" not in err
    assert "cuda-hidden" in {f["code"] for f in strict_json(out)["findings"]}


def test_nvidia_smi_printing_bytes_that_are_not_utf8(tmp_path, monkeypatch):
    from envcheck.probes.nvidia_smi import read_nvidia_smi

    exe = tmp_path / "nvidia-smi"
    exe.write_bytes(b"#!/bin/sh\nprintf 'index, name, driver_version\\n0, Tesla \\377\\376 T4, 535.54.03\\n'\n")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    info = read_nvidia_smi()
    assert info is not None and info.driver_version == "535.54.03"
    assert info.gpus[0].name.startswith("Tesla ") and info.gpus[0].name.endswith(" T4")


def test_a_corrupt_table_cache_falls_back_to_the_shipped_tables(run_cli, monkeypatch, tmp_path):
    from envcheck import compat

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(compat, "_TABLES", None)
    assert run_cli("install-cmd", "--cuda", "12.6", "-q")[0] == 0  # writes the cache
    caches = list((tmp_path / "envcheck").glob("*.json"))
    assert len(caches) >= 3
    for bad in ('{"release": 5}', '{"release": [1]}', "[1, 2", "\x00\xff", "{}", "[]"):
        for f in caches:
            f.write_bytes(bad.encode("latin-1"))
        monkeypatch.setattr(compat, "_TABLES", None)  # a new run of envcheck
        code, out, err = run_cli("install-cmd", "--cuda", "12.6", "-q")
        assert code == 0 and "pip install torch==" in out, (bad, err)


# -- secrets ----------------------------------------------------------------------------------------------

CANARY_PASSWORD = "canary@P4ss"
CANARY_TOKEN = "hf_" + "C4nary" * 6


def test_redaction_follows_pips_own_rule_for_at_signs():
    assert redact(f"https://me:{CANARY_PASSWORD}@mirror.example/simple") == "https://****@mirror.example/simple"
    assert CANARY_TOKEN not in redact(f"HF_TOKEN={CANARY_TOKEN}") and CANARY_TOKEN not in redact(f"token is {CANARY_TOKEN}")
    assert redact("Authorization: Bearer abc.def") == "Authorization: Bearer ****"


def test_no_secret_reaches_any_output(run_cli, monkeypatch, tmp_path):
    """Secrets planted in the environment, pip's config, a --from file and a child's output."""
    home = tmp_path / "home"
    (home / ".config" / "pip").mkdir(parents=True)
    (home / ".config" / "pip" / "pip.conf").write_text(
        f"[global]\nindex-url = https://me:{CANARY_PASSWORD}@pypi.tuna.tsinghua.edu.cn/simple\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    for var in ("PIP_CONFIG_FILE", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_TOKEN", CANARY_TOKEN)
    spec = json.loads((SPECS / "import_error_libcudnn.json").read_text())
    spec["message"] = f"libcudnn.so.9: cannot open shared object file (HF_TOKEN={CANARY_TOKEN}) \x1b[2J"
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(spec))
    monkeypatch.setenv("PYTHONPATH", str(FAKES))
    monkeypatch.setenv("FAKE_TORCH_SPEC", str(spec_path))
    pasted = tmp_path / "paste.txt"
    pasted.write_text((REPORTS / "driver_too_old_a100_torch2_1_cu121.txt").read_text()
                      + f"\npip install x --index-url https://u:{CANARY_PASSWORD}@host/simple\nHF_TOKEN={CANARY_TOKEN}\n"
                      + "RuntimeError: CUDA error: invalid device ordinal\n")
    saved = tmp_path / "saved.json"
    raw = json.loads(json.dumps(_saved_with_raw_password()))  # a report saved by hand or another tool
    raw_path = tmp_path / "raw.json"
    raw_path.write_text(json.dumps(raw))
    runs = [
        ("doctor", "--from", str(raw_path), "--format", "markdown"), ("doctor", "--from", str(raw_path), "--json"),
        ("diff", str(raw_path), str(raw_path)), ("doctor",), ("doctor", "--json"), ("doctor", "--format", "markdown"), ("doctor", "--save", str(saved)),
        ("doctor", "--from", str(pasted)), ("doctor", "--from", str(pasted), "--json"),
        ("doctor", "--from", str(pasted), "--format", "markdown"), ("mirror", "show"), ("mirror", "show", "--json"),
        ("install-cmd", "--mirror", "tuna"), ("diff", str(pasted), str(REPORTS / "healthy_v100s_torch2_5_cu118.txt")),
    ]
    for args in runs:
        code, out, err = run_cli(*args)
        for secret in (CANARY_PASSWORD, "P4ss", CANARY_TOKEN, "\x1b"):
            assert secret not in out and secret not in err, (args, secret)
    text = saved.read_text()
    assert CANARY_PASSWORD not in text and CANARY_TOKEN not in text
    strict_json(text)


def _saved_with_raw_password() -> dict:
    from envcheck.reports import read_report
    from envcheck.snapshot.json_io import dump

    data = dump(read_report((REPORTS / "driver_too_old_a100_torch2_1_cu121.txt").read_text()))
    data["python"]["pip_index_url"] = f"https://me:{CANARY_PASSWORD}@pypi.tuna.tsinghua.edu.cn/simple"
    return data


def test_a_gpu_uuid_in_cuda_visible_devices_stays_out_of_markdown(run_cli, monkeypatch, machine):
    machine("driver535_gtx1080ti")
    uuid = "GPU-4f2a9c1e-8b7d-4e6f-a3c2-1d0e9f8b7a65"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", uuid)
    code, out, err = run_cli("doctor", "--no-torch", "--format", "markdown")
    assert uuid not in out and "8b7d" not in out


# -- output -----------------------------------------------------------------------------------------------


def test_nan_readings_give_strict_json(run_cli, tmp_path, saved):
    data = json.loads(json.dumps(saved))
    data["driver"]["gpus"] = [{"index": 0, "name": "NVIDIA A100", "uuid": "GPU-x", "pci_bus_id": "0", "compute_capability": "8.0",
                               "memory_total_mib": 81920, "power_draw_w": float("nan"), "power_limit_w": float("inf")}]
    path = tmp_path / "nan.json"
    path.write_text(json.dumps(data))  # json writes NaN and Infinity literals, as a naive tool would
    code, out, err = run_cli("doctor", "--from", str(path), "--json")
    gpus = strict_json(out)["snapshot"]["driver"]["gpus"]
    assert gpus[0]["power_draw_w"] is None and gpus[0]["power_limit_w"] is None


# -- every option of every command, fed anything ----------------------------------------------------------

_TEXT = st.one_of(st.text(max_size=12), st.sampled_from(["nan", "inf", "-inf", "-1", "0", "1e309", "²", "١٢", "12.x", "cu1",
                                                          "2.2", "3.99", "a,b", "0,0", "..", "-", "--", "\x00", "tuna", "清华"]))
_COMMANDS = {
    "install-cmd": ["--cuda", "--torch", "--python", "--os", "--arch", "--manager", "--mirror", "--env", "--driver", "--gpu"],
    "compat": ["--driver", "--torch", "--cuda", "--gpu"],
    "doctor": ["--timeout", "--python", "--from"],
    "bench": ["--seconds", "--timeout", "--size", "--workers", "--level", "--device", "--gpus", "--suite", "--dtype"],
    "onnx": ["--opset", "--dim", "--exporter", "--network", "--provider", "--model"],
    "diff": [],
    "cluster": ["--seconds", "--timeout", "--backend"],
    "data": ["--seconds", "--gpu-rate", "--batch-size", "--samples"],
}
# Added last to each run so that no fuzzed run starts real work (a benchmark, an export, a probe):
# each is refused by the command's own checks, after the fuzzed options have been parsed.
_STOP = {"bench": ["--workers", "0"], "onnx": ["--exporter", "none"], "doctor": ["--from", "/nonexistent/report"],
         "cluster": [], "diff": ["/nonexistent/a", "/nonexistent/b"], "install-cmd": [], "compat": [],
         "data": ["/nonexistent/dataset"]}


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=st.sampled_from(sorted(_COMMANDS)), data=st.data())
def test_any_value_in_any_option_is_a_result_or_one_line(run_cli, command, data):
    options = _COMMANDS[command]
    args = [command]
    for option in data.draw(st.lists(st.sampled_from(options), max_size=3, unique=True)) if options else []:
        args += [option, data.draw(_TEXT)]
    args += _STOP[command]
    code, out, err = run_cli(*args)
    if command in ("install-cmd", "compat") and not err:  # these two can answer any options they accept
        assert code == 0 and out.strip(), (args, code, out)
    else:  # refused: by the fuzzed options, or by _STOP after them
        assert out == "", (args, out)
        one_line_error(code, out, err)


def test_no_color_on_a_terminal_turns_off_colour_and_live_progress(monkeypatch):
    from envcheck.render.console import Output, live

    class Tty:
        def isatty(self):
            return True

        def write(self, text):
            self.text = getattr(self, "text", "") + text

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert live(Tty())
    monkeypatch.setenv("NO_COLOR", "1")
    tty = Tty()
    assert not live(tty)
    Output(tty).print("verdict", style="bold")
    assert tty.text == "verdict\n"


def test_a_huge_from_file_is_one_line_without_being_read_whole(run_cli, tmp_path):
    path = tmp_path / "huge.txt"
    with open(path, "wb") as fh:
        fh.seek((64 << 20) + 10)
        fh.write(b"x")
    one_line_error(*run_cli("doctor", "--from", str(path)))
