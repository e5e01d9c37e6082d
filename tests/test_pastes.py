"""`doctor --from` on what people really paste: failure lines and tracebacks from public threads
(tests/fixtures/pastes/index_*.toml names each thread and the cause it confirms), and every real
report wrapped the ways people wrap them (code fences, quotes, bold labels, indentation, CRLF,
UTF-16, GBK). Readers stay total and linear: any input is a snapshot or one line of error."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envcheck.checks import run_all
from envcheck.checks.codes import CODES
from envcheck.compat import Tables
from envcheck.reports import ReportError, read_report
from envcheck.reports.paste import clean, decode

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

T = Tables()
FIXTURES = Path(__file__).parent / "fixtures"
PASTES = FIXTURES / "pastes"
REPORTS = FIXTURES / "reports"
INDEX = [dict(row, index=p.name) for p in sorted(PASTES.glob("index_*.toml")) for row in tomllib.loads(p.read_text())["paste"]]
REPORT_INDEX = tomllib.loads((REPORTS / "index.toml").read_text())["report"]
ENV_ERRORS = ("error", "warn")
# Signatures no public text was found for, with the reason; a new signature needs a real text.
NO_PUBLIC_TEXT: dict[str, str] = {}


def codes_of(text: str) -> dict[str, str]:
    """finding code -> severity, as doctor --from gives them."""
    return {f.code: f.severity for f in run_all(read_report(text, T), T)}


# -- real pastes from public threads ------------------------------------------------------------------


def test_the_set_covers_errors_healthy_pastes_and_chinese_posts():
    assert len(INDEX) >= 40
    kinds = [r["kind"] for r in INDEX]
    assert kinds.count("healthy") + kinds.count("unrelated") >= len(INDEX) // 3
    assert sum(r["lang"] == "zh" for r in INDEX) >= 5
    expected = {c for r in INDEX for c in r["expect"]}
    assert {"no-driver", "driver-library-mismatch", "gpu-health", "driver-too-old", "cpu-only-build", "arch-unsupported",
            "torch-import-failed", "torchvision-mismatch", "onnxruntime-no-gpu", "python-unsupported"} <= expected


@pytest.mark.parametrize("paste", INDEX, ids=[r["file"] for r in INDEX])
def test_paste_gets_the_diagnosis_its_thread_confirms(paste, run_cli):
    code, out, err = run_cli("doctor", "--from", str(PASTES / paste["file"]), "--json")
    assert "Traceback" not in err, err
    findings = json.loads(out)["findings"]
    severities = {f["severity"] for f in findings}
    assert code == (2 if "error" in severities else 1 if "warn" in severities else 0), (code, severities)  # doctor's exit rule
    found = {f["code"] for f in findings}
    assert set(paste["expect"]) <= found, f"{paste['source']}: {paste['confirmed']}"
    errors = {f["code"] for f in findings if f["severity"] == "error"}
    if paste["kind"] in ("healthy", "unrelated"):
        assert not errors, f"an environment error the thread does not support: {errors}"
        assert code != 2
    else:
        raised = {f["code"] for f in findings if f["severity"] in ENV_ERRORS}
        assert set(paste["expect"]) & raised, "the problem is reported at its severity"
        assert errors <= set(paste["expect"]), f"errors the thread does not support: {errors - set(paste['expect'])}"


def test_every_signature_is_met_by_a_real_text():
    """Each row of compat/error_signatures.toml is matched by at least one real paste or report,
    or NO_PUBLIC_TEXT says why none was found."""
    texts = [read_report(p.read_text(encoding="utf-8"), T) for p in sorted(PASTES.glob("*.txt"))]
    texts += [read_report((REPORTS / r["file"]).read_text(), T) for r in REPORT_INDEX]
    met = {p.signature for s in texts for p in s.pasted}
    unmet = [s.id for s in T.signatures if s.id not in met and s.id not in NO_PUBLIC_TEXT]
    assert not unmet, f"signatures no real text shows (add a paste from a public thread): {unmet}"
    assert set(NO_PUBLIC_TEXT) <= {s.id for s in T.signatures} - met, "NO_PUBLIC_TEXT names a met or unknown signature"


def test_signature_rows_are_well_formed():
    for s in T.signatures:
        re.compile(s.pattern)
        assert s.needle == s.needle.lower() and s.needle, s.id
        assert s.variant in CODES[s.code].variants, s.id  # the catalogue holds the row's words
        assert s.source.startswith("https://"), s.id
        assert not s.stack or CODES[s.code].variant(s.variant).fix, f"{s.id}: a @stack fix needs a command for pastes without facts"
    assert len({s.id for s in T.signatures}) == len(T.signatures)


# -- what the messages alone say ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, code, severity",
    [
        ("Failed to initialize NVML: Driver/library version mismatch\nNVML library version: 570.172", "driver-library-mismatch", "error"),
        ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest "
         "NVIDIA driver is installed and running.", "no-driver", "error"),
        ("No devices were found", "no-driver", "error"),
        ("Unable to determine the device handle for GPU0000:3B:00.0: Unknown Error", "gpu-health", "error"),
        ("NVIDIA-SMI couldn't find libnvidia-ml.so library in your system. Please make sure that the NVIDIA Display "
         "Driver is properly installed and present in your system.", "no-driver", "error"),
        ("RuntimeError: The NVIDIA driver on your system is too old (found version 10010).", "driver-too-old", "error"),
        ("RuntimeError: CUDA error: no kernel image is available for execution on the device", "arch-unsupported", "error"),
        ("RuntimeError: CUDA error: invalid device ordinal", "cuda-hidden", "error"),
        ("ERROR: No matching distribution found for torch==2.2.1", "python-unsupported", "error"),
        ("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB", "pasted-error", "info"),
    ],
)
def test_a_message_alone_is_read(text, code, severity):
    assert codes_of(text).get(code) == severity


def test_the_found_version_names_the_drivers_cuda():
    f = next(f for f in run_all(read_report("The NVIDIA driver on your system is too old (found version 11040).", T), T)
             if f.code == "driver-too-old")
    assert "CUDA up to 11.4" in f.summary and f.fix == "envcheck install-cmd"


def test_a_gpu_named_in_the_warning_makes_the_fix_specific():
    text = ("UserWarning: NVIDIA GeForce RTX 5090 with CUDA capability sm_120 is not compatible with the current PyTorch "
            "installation.\nThe current PyTorch install supports CUDA capabilities sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90.")
    f = next(f for f in run_all(read_report(text, T), T) if f.code == "arch-unsupported")
    assert "NVIDIA GeForce RTX 5090 (sm_120)" in f.summary
    assert f.fix == "envcheck install-cmd --gpu 'NVIDIA GeForce RTX 5090'"


def test_an_error_no_signature_knows_is_said_to_be_unknown():
    assert codes_of("Traceback (most recent call last):\n  File \"x.py\", line 1\nKeyError: 'lr'") == {"pasted-error": "info"}


def test_text_with_nothing_envcheck_reads_is_one_line():
    with pytest.raises(ReportError) as exc:
        read_report("hello\nworld\n", T)
    assert "\n" not in str(exc.value) and "not a report" in str(exc.value)


# -- pasted as people paste ---------------------------------------------------------------------------


def _bold(text: str) -> str:
    return re.sub(r"(?m)^([A-Z][\w ./()-]{2,60}):[ \t]", r"**\1:** ", text)


DECORATIONS = {
    "fence": lambda t: f"Here is my env:\n\n```text\n{t}\n```\n",
    "quote": lambda t: "\n".join("> " + line for line in t.splitlines()),
    "nested-quote": lambda t: "\n".join("> > " + line for line in t.splitlines()),
    "bold-labels": _bold,
    "indent": lambda t: "\n".join("    " + line for line in t.splitlines()),
    "crlf": lambda t: t.replace("\n", "\r\n"),
    "details": lambda t: f"<details>\n<summary>env</summary>\n\n```\n{t}\n```\n</details>\n",
}
ENCODINGS = {"utf-8-bom": "utf-8-sig", "utf-16-powershell": "utf-16", "utf-16-le": "utf-16-le", "gbk": "gbk"}


def _diagnosis(text: str) -> set[str]:
    return {f.code for f in run_all(read_report(text, T), T) if f.severity in ENV_ERRORS}


@pytest.mark.parametrize("how", sorted(DECORATIONS))
@pytest.mark.parametrize("report", REPORT_INDEX + INDEX, ids=[r["file"] for r in REPORT_INDEX + INDEX])
def test_decorated_pastes_read_the_same(report, how):
    folder = REPORTS if report in REPORT_INDEX else PASTES
    text = (folder / report["file"]).read_text(encoding="utf-8")
    assert _diagnosis(DECORATIONS[how](text)) == _diagnosis(text)


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
@pytest.mark.parametrize("report", REPORT_INDEX + INDEX, ids=[r["file"] for r in REPORT_INDEX + INDEX])
def test_saved_in_another_encoding_reads_the_same(report, encoding):
    folder = REPORTS if report in REPORT_INDEX else PASTES
    text = (folder / report["file"]).read_text(encoding="utf-8")
    try:
        data = text.encode(ENCODINGS[encoding])
    except UnicodeEncodeError:
        pytest.skip(f"the text has characters {encoding} cannot hold")
    assert decode(data).lstrip("\ufeff") == text.lstrip("\ufeff")


def test_gbk_from_a_chinese_windows_is_decoded():
    text = "报错：RuntimeError: Found no NVIDIA driver on your system.\n显卡驱动没有安装"
    assert decode(text.encode("gbk")) == text
    assert _diagnosis(decode(text.encode("gbk"))) == {"no-driver"}


def test_clean_keeps_tables_and_paths():
    table = "| NVIDIA-SMI 535.54.03   Driver Version: 535.54.03   CUDA Version: 12.2 |\n|-------------------------------+\n"
    assert clean(f"> ```\n> {table}> ```") == table.rstrip("\n")
    assert "torch/__init__.py" in clean('  File "/x/site-packages/torch/__init__.py", line 1')


def test_a_collect_env_report_and_an_nvidia_smi_table_in_one_paste():
    env = (REPORTS / "driver_too_old_a100_torch2_1_cu121.txt").read_text()
    table = (REPORTS / "nvsmi_table_a100_450.txt").read_text()
    s = read_report(f"My env:\n```\n{env}\n```\nand nvidia-smi:\n```\n{table}\n```\n", T)
    assert s.torch.version.startswith("2.1.0") and s.driver.source == "nvidia-smi"
    assert "driver-too-old" in {f.code for f in run_all(s, T)}


def test_an_error_beside_a_report_uses_the_reports_facts():
    env = (REPORTS / "cpu_build_rtx4080_laptop_win.txt").read_text()
    s = read_report(env + "\nAssertionError: Torch not compiled with CUDA enabled\n", T)
    found = [f for f in run_all(s, T) if f.code == "cpu-only-build"]
    assert len(found) == 1 and found[0].severity == "error"
    # the report's torch 2.2.2+cpu and driver make the fix a specific command, not a hint
    assert found[0].fix.startswith("pip install torch==2.2.2+cu121 torchvision==0.17.2+cu121 ")


def test_a_driver_without_its_cuda_version_is_inferred_and_labelled(run_cli, tmp_path):
    path = tmp_path / "smi.txt"
    path.write_text("| NVIDIA-SMI 560.35.03              Driver Version: 560.35.03      |\n")
    code, out, err = run_cli("doctor", "--from", str(path))
    assert "the newest CUDA it supports: 12.6 (inferred from the driver version by envcheck's tables)" in out


def test_a_utf16_file_from_powershell_reads(run_cli, tmp_path):
    path = tmp_path / "env.txt"
    path.write_bytes((REPORTS / "cpu_build_rtx4080_laptop_win.txt").read_text().encode("utf-16"))
    code, out, err = run_cli("doctor", "--from", str(path), "--json")
    assert "cpu-only-build" in {f["code"] for f in json.loads(out)["findings"]}


# -- total and bounded -----------------------------------------------------------------------------------


_PIECES = st.sampled_from([
    "Failed to initialize NVML: Driver/library version mismatch", "No devices were found", "PyTorch version: 2.1.0+cu121",
    "| NVIDIA-SMI 535.54.03   Driver Version: 535.54.03   CUDA Version: 12.2 |", "|=====|", "```", "> ", "**", "\r\n",
    "Traceback (most recent call last):", "RuntimeError: CUDA error: invalid device ordinal", "GPU 0: NVIDIA A100",
    "found version 10010)", "with CUDA capability sm_120 is not compatible with the current PyTorch installation",
    "\ufeff", "\x00", "报错", "    ", "\n", "\n\n\n",
])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(_PIECES, st.text(max_size=30)), max_size=30), st.sampled_from([None, "utf-16", "gbk", "utf-8-sig"]))
def test_any_mixed_decorated_reencoded_paste_is_a_snapshot_or_one_line(pieces, encoding):
    text = "".join(pieces)
    if encoding:
        try:
            text = decode(text.encode(encoding))
        except UnicodeEncodeError:
            return
    try:
        s = read_report(text, T)
    except ReportError as exc:
        assert "\n" not in str(exc)
        return
    run_all(s, T)


@pytest.mark.parametrize(
    "text",
    [
        "PyTorch" + "\n" * 2_000_000 + "version",
        "x" * 3_000_000,
        ("Traceback (most recent call last):\n" + "  File \"a.py\", line 1\n" * 100_000 + "RuntimeError: no kernel image is available for execution on the device\n"),
        "> " * 1_000_000 + "\n",
        ("| " + "ERR! " * 400 + "|\n") * 2_000,
    ],
    ids=["blank-run", "one-long-line", "long-traceback", "quote-markers", "err-rows"],
)
def test_a_few_megabytes_read_in_well_under_a_second_each(text):
    start = time.perf_counter()
    try:
        run_all(read_report(text, T), T)
    except ReportError:
        pass
    assert time.perf_counter() - start < 3.0  # a hang guard: quadratic behaviour takes minutes here
