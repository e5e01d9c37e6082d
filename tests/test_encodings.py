"""Output never fails on a console's encoding: on a Chinese Windows console (GBK / cp936), or one
that can hold only ASCII, every command answers; symbols fall back to ASCII, Chinese passes through."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from envcheck.render.console import Output, fit

FIXTURES = Path(__file__).parent / "fixtures"
ZH_PASTE = str(FIXTURES / "pastes" / "t_arch_sm120_rtx5090_leggedlab_zh.txt")
REPORT = str(FIXTURES / "reports" / "cpu_build_rtx4080_laptop_win.txt")
COMMANDS = [
    ["doctor", "--no-torch"], ["doctor", "--from", REPORT], ["doctor", "--from", ZH_PASTE], ["doctor", "--from", ZH_PASTE, "--json"],
    ["doctor", "--from", ZH_PASTE, "--format", "markdown"], ["install-cmd", "--mirror", "tuna", "--explain"],
    ["install-cmd", "--torch", "9.9"], ["compat", "--torch", "2.2.1"], ["compat", "--gpu", "RTX 3090"], ["compat", "--driver", "470.82.01"],
    ["mirror", "list"], ["diff", REPORT, ZH_PASTE], ["bench", "--device", "cpu", "--suite", "memory", "--level", "quick", "--seconds", "0.2"],
]


@pytest.mark.parametrize("encoding", ["gbk", "cp936", "ascii"])
@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a)[:40])
def test_every_command_answers_in_the_consoles_encoding(args, encoding):
    env = {**os.environ, "PYTHONIOENCODING": encoding}
    done = subprocess.run([sys.executable, "-m", "envcheck", *args], capture_output=True, env=env, timeout=120)
    err = done.stderr.decode(encoding, errors="strict")
    out = done.stdout.decode(encoding, errors="strict")  # what the console shows, without mojibake
    assert done.returncode in (0, 1, 2) and "Traceback" not in err and "internal error" not in err, err
    assert out.strip() or err.strip()
    if "--json" in args:
        json.loads(out)


def test_symbols_fall_back_and_chinese_passes_through():
    gbk = io.TextIOWrapper(io.BytesIO(), encoding="gbk")
    assert fit("✗ error: 显卡驱动 ≤ 12.2 — ok", gbk) == "x error: 显卡驱动 ≤ 12.2 — ok"  # GBK has ≤ and —, not ✗
    ascii_out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    assert fit("✗ ⚠ ≤ → … 显卡", ascii_out) == "x ! <= -> ... ??"
    utf = io.StringIO()
    Output(utf).print("✗ 显卡")
    assert utf.getvalue() == "✗ 显卡\n"
