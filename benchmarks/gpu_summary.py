"""The summary table of benchmarks/gpu_acceptance.sh: each step, pass or fail, its time and figures.

    python benchmarks/gpu_summary.py OUTDIR

Reads OUTDIR/steps.tsv and the JSON each step saved; prints one row per step and exits 1 when a
step failed. A step passes on the exit codes that mean it ran and judged: doctor, bench, gpus and
cluster 0 or 1 (warnings), onnx 0, pytest 0, the machine step 0.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

PASS = {"machine": {0}, "pytest_gpu": {0}, "doctor_json": {0, 1}, "doctor_text": {0, 1}, "gpus_json": {0, 1}, "gpus_text": {0, 1},
        "bench_json": {0, 1}, "bench_text": {0, 1}, "onnx_json": {0}, "onnx_text": {0}, "cluster_json": {0, 1}}


def _json(out: Path, step: str):
    text = (out / f"{step}.out").read_text(errors="replace") if (out / f"{step}.out").exists() else ""
    start = text.find("{")
    try:
        return json.loads(text[start:]) if start >= 0 else None
    except ValueError:
        return None


def figures(out: Path, step: str) -> str:
    """The numbers a reader wants from each step, in one short cell."""
    if step == "machine":  # python, torch, torch's CUDA, is_available; then the GPU line of nvidia-smi
        lines = (out / "machine.out").read_text(errors="replace").strip().splitlines() if (out / "machine.out").exists() else []
        gpu = next((line.strip("| ") for line in lines if "NVIDIA" in line and "%" not in line and "SMI" not in line), "")
        return " ".join(x for x in (lines[0] if lines else "", gpu[:40]) if x)
    if step == "pytest_gpu":
        path = out / "pytest_gpu.xml"
        if not path.exists():
            return "no report"
        suite = ET.parse(path).getroot()
        suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
        a = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
        return f"{a['tests'] - a['failures'] - a['errors'] - a['skipped']} passed, {a['failures'] + a['errors']} failed, {a['skipped']} skipped"
    data = _json(out, step)
    if data is None:
        return ""
    if step == "doctor_json":
        s = data["snapshot"]
        torch = s["torch"] if isinstance(s["torch"], dict) else {}
        bad = [f["code"] for f in data["findings"] if f["severity"] in ("error", "warn")]
        return f"driver {s['driver'].get('driver_version')}, torch {torch.get('version')} (CUDA {torch.get('cuda')}); {', '.join(bad) or 'no problems'}"
    if step == "bench_json":
        cells = []
        for r in data.get("results", []):
            for m in r.get("measurements", []):
                cells.append(f"{m['suite']} {m['name']} {m['value']:.3g} {m['unit']}")
            cells += [f"error: {e[:60]}" for e in r.get("errors", [])]
        return "; ".join(cells)
    if step == "onnx_json":
        runs = [f"{r.get('model')}/{r.get('exporter')}: " + ", ".join(f"{x['provider'].replace('ExecutionProvider', '')} {x['status']}" for x in r.get("runs", []))
                for r in data.get("results", [])]
        return "; ".join(runs)
    if step == "cluster_json":
        best = max((m.get("value", 0) for m in (data.get("allreduce") or {}).get("measurements", [])), default=None)
        return f"{data.get('world')} rank(s), {data.get('backend')}" + (f", all-reduce busbw up to {best:.3g} GB/s" if best else "")
    if step == "gpus_json":
        return f"{len(data.get('gpus', []))} GPU(s)"
    return ""


def main() -> int:
    out = Path(sys.argv[1])
    rows = [line.split("\t") for line in (out / "steps.tsv").read_text().splitlines() if line.strip()]
    failed = 0
    print(f"{'step':14} {'result':6} {'exit':>4} {'seconds':>8}  figures")
    for name, rc, ms in rows:
        ok = int(rc) in PASS.get(name, {0})
        failed += not ok
        print(f"{name:14} {'pass' if ok else 'FAIL':6} {rc:>4} {int(ms) / 1000:8.1f}  {figures(out, name)}")
    print(f"{len(rows) - failed} of {len(rows)} steps passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
