"""Real environment reports pasted in public issue threads (tests/fixtures/reports/index.toml names
each thread and what it confirmed): `doctor --from` must give that diagnosis."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envcheck.compat import Tables
from envcheck.reports import ReportError, read_report

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

HERE = Path(__file__).parent / "fixtures" / "reports"
INDEX = tomllib.loads((HERE / "index.toml").read_text())["report"]
T = Tables()


def test_the_set_spans_formats_versions_and_systems():
    assert len(INDEX) >= 20
    assert {r["format"] for r in INDEX} >= {"collect_env", "nvidia_smi_table", "nvidia_smi_csv"}
    assert {r["os"] for r in INDEX if r["format"] == "collect_env"} >= {"linux", "windows"}
    versions = {r["torch"].split(".")[0] for r in INDEX if r["torch"]}
    assert {"1", "2"} <= versions
    assert any(not r["expect"] for r in INDEX) and any(r["expect"] for r in INDEX)


@pytest.mark.parametrize("report", INDEX, ids=[r["file"] for r in INDEX])
def test_report_gets_the_diagnosis_its_thread_confirms(report, run_cli):
    code, out, err = run_cli("doctor", "--from", str(HERE / report["file"]), "--json")
    assert "Traceback" not in err
    findings = json.loads(out)["findings"]
    codes = {f["code"] for f in findings}
    assert set(report["expect"]) <= codes, f"{report['source']}: {report['confirmed']}"
    unexpected = {f["code"] for f in findings if f["severity"] == "error"} - set(report["expect"])
    assert not unexpected, f"errors the thread does not support: {unexpected}"
    worst = {f["severity"] for f in findings}
    assert code == (2 if "error" in worst else 1 if "warn" in worst else 0)


@pytest.mark.parametrize(
    "name,text,needle",
    [
        ("xml", "<nvidia_smi_log><driver_version>5", "XML"),
        ("table", "NVIDIA-SMI has\nDriver Version: abc\n", ""),
        ("csv", "index, name, driver_version\n0, Tesla T4\n", "row 1 has 2 values"),
        ("json", '{"schema_version": 99, "system": {}}', "newer than this envcheck reads"),
    ],
)
def test_malformed_input_of_each_format_is_one_line(run_cli, tmp_path, name, text, needle):
    path = tmp_path / f"bad.{name}"
    path.write_text(text)
    code, out, err = run_cli("doctor", "--from", str(path))
    assert code == 2 and len(err.strip().splitlines()) == 1 and needle in err and "Traceback" not in err


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_is_a_snapshot_or_one_clear_error(text):
    try:
        read_report(text, T)
    except ReportError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(INDEX), st.floats(min_value=0, max_value=1))
def test_truncated_real_reports_read_or_fail_cleanly(report, fraction):
    text = (HERE / report["file"]).read_text()
    try:
        read_report(text[: int(len(text) * fraction)], T)
    except ReportError:
        pass
