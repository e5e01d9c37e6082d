"""Escape sequences planted in every source of outside text reach no terminal: a mirror's reason
phrase, Content-Type, links and title; a GPU name NVML reports; torch's warnings; a pasted report.
Text and markdown carry them as visible escapes, JSON as JSON escapes; never the raw bytes that
retitle a window (OSC ... BEL), clear the screen (CSI 2J), reset the terminal (ESC c) or reorder a
line (U+202E)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envcheck.terminal_text import clean
from tests.index_pages import HTML, Answer, pep691
from tests.test_index_cli import PLAN, _serve, _stack, sites  # noqa: F401  (the fixture, by name)

HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x1bc\u202e\x9b2J\x08\r"
LATIN1 = "\x1b]0;pwned\x07\x1b[2J\x1bc\x9b2J"  # what a status line or header can carry (latin-1)
RAW = ("\x1b", "\x9b", "\x07", "\x08", "\r", "\u202e")
FAKES = Path(__file__).parent / "fakes" / "torch"
SPECS = Path(__file__).parent / "fixtures" / "torch"
REPORTS = Path(__file__).parent / "fixtures" / "reports"


def _none_raw(*texts: str) -> None:
    for text in texts:
        for ch in RAW:
            assert ch not in text, (ch, text[:300])


def test_clean_shows_controls_and_keeps_every_printable_character():
    assert clean("\x1b]0;pwned\x07") == "\\x1b]0;pwned\\x07"
    assert clean("a\u202eb\u2066c\x9bd\x7fe\rf") == "a\\u202eb\\u2066c\\x9bd\\x7fe\\x0df"
    assert clean("显卡 GeForce RTX 4090\tok\n") == "显卡 GeForce RTX 4090\tok\n"


def test_a_hostile_mirror_reaches_no_terminal_through_refresh(sites, run_cli):  # noqa: F811
    sjtu = sites["sjtu"]
    page = pep691("torch", _stack("cp312", "manylinux_2_28_x86_64")[:1])
    links = f'<a href="http://bad{HOSTILE}.example/torch-2.6.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl">{HOSTILE}</a>'
    sjtu.pages["/pytorch-wheels/cu126/torch/"] = Answer(
        page.body.decode().replace("/whl", "/whl").encode(), page.ctype)
    sjtu.pages["/pytorch-wheels/cu126/torchvision/"] = Answer(f"<html><title>{HOSTILE}</title>{links}</html>".encode(), HTML)
    sjtu.pages["/pytorch-wheels/cu126/torchaudio/"] = Answer(b"<html>not json</html>", f"text/x{LATIN1}json")
    for project in ("torch", "torchvision", "torchaudio"):
        sjtu.pages[f"/pytorch-wheels/cpu/{project}/"] = Answer(b"gone", HTML, 404, reason=f"Not Found{LATIN1}")
    for fmt in ("table", "markdown"):
        code, out, err = run_cli("compat", "refresh", "--mirror", "sjtu", "--variants", "cu126,cpu", "--format", fmt)
        assert code == 1 and "Traceback" not in err
        _none_raw(out, err)
        assert "Not Found\\x1b]0;pwned\\x07" in err, err  # shown, so the user sees something was there
    code, out, err = run_cli("compat", "refresh", "--mirror", "sjtu", "--variants", "cu126,cpu", "--json")
    _none_raw(out, err)
    assert any("Not Found\x1b]0;pwned" in e for e in json.loads(out)["errors"])  # the same text, JSON-escaped


def test_a_hostile_mirror_reaches_no_terminal_through_check_index(sites, run_cli):  # noqa: F811
    _serve(sites["sjtu"], "/pytorch-wheels", "cu126", _stack("cp312", "manylinux_2_28_x86_64"))
    sites["sjtu"].pages["/pytorch-wheels/cu126/torch/"] = Answer(b"", HTML, 503, reason=f"Busy{LATIN1}")
    sites["sjtu"].pages["/pytorch-wheels/cu126/torchaudio/"] = Answer(b"<html>x</html>", f"text/x{LATIN1}json")
    for fmt in ("table", "markdown", "json"):
        code, out, err = run_cli(*PLAN, "--arch", "x86_64", "--python", "3.12", "--format", fmt)
        assert "Traceback" not in err and "internal error" not in err
        _none_raw(out, err)
        assert "Busy\\x1b]0;pwned\\x07" in err


@pytest.fixture
def hostile_torch(monkeypatch, tmp_path):
    """A fake torch whose import warns, and whose error message speaks, in escape sequences."""
    spec = json.loads((SPECS / "cuda_unavailable.json").read_text())
    spec["warnings"] = [f"CUDA initialization: {HOSTILE} driver too old"]
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    monkeypatch.setenv("PYTHONPATH", str(FAKES))
    monkeypatch.setenv("FAKE_TORCH_SPEC", str(path))


def test_a_gpu_name_and_torchs_warnings_reach_no_terminal(machine, hostile_torch, run_cli):
    m = machine("driver535_gtx1080ti")
    m["gpus"][0]["name"] = f"NVIDIA GeForce{HOSTILE} GTX 1080 Ti"
    for args in (("doctor",), ("doctor", "--format", "markdown"), ("doctor", "--json"), ("gpus",), ("gpus", "--json")):
        code, out, err = run_cli(*args)
        assert "Traceback" not in err, err
        _none_raw(out, err)
    code, out, err = run_cli("doctor", "--json")
    json.loads(out)
    assert "GeForce\\u001b]0;pwned\\u0007" in out  # the name kept whole, JSON-escaped
    code, out, err = run_cli("gpus")
    assert "GeForce\\x1b]0;pwned\\x07" in out


def test_a_pasted_report_reaches_no_terminal(run_cli, tmp_path):
    pasted = tmp_path / "paste.txt"
    pasted.write_text((REPORTS / "driver_too_old_a100_torch2_1_cu121.txt").read_text()
                      + f"\nRuntimeError: CUDA error: {HOSTILE} invalid device ordinal\n", encoding="utf-8")
    for fmt in ("table", "markdown", "json"):
        code, out, err = run_cli("doctor", "--from", str(pasted), "--format", fmt)
        assert "Traceback" not in err, err
        _none_raw(out, err)
