"""The summary table of benchmarks/gpu_acceptance.sh: each step, its result, its time and figures.

    python benchmarks/gpu_summary.py OUTDIR

Reads OUTDIR/steps.tsv, OUTDIR/preflight.json and the output each step saved; prints one row per
step, then one line: "every step passed", or how many did not. The script rewrites this after every
step, so a run killed midway still has its summary.

Results: pass; FAIL (envcheck failed: a wrong exit code, or `--json` output that is not one JSON
document from its first byte); ENV (the machine lacks what the step needs, as preflight found: a
missing dependency, or torch without a CUDA device); SKIP (the run's time budget was spent).
A step passes on the exit codes that mean it ran and judged: doctor, bench, gpus and cluster 0 or 1
(warnings), onnx 0 or 1, pytest 0, preflight and record 0.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

_JUDGED = {0, 1}
PASS = {"preflight": {0}, "record": {0}, "pytest_gpu": {0}}
# What each step needs from the machine beyond envcheck's own dependencies.
NEEDS = {"bench": {"torch", "cuda"}, "cluster": {"torch", "cuda"}, "onnx": {"torch", "onnx", "onnxruntime", "onnxscript"},
         "pytest": {"pytest", "torch", "cuda"}, "record": {"pynvml"}}
_BASE = {"pynvml", "typer", "rich", "packaging"}


def command_of(step: str) -> str:
    return step.split("_")[0]


def parse_json(out: Path, step: str):
    """(document, problem): the step's stdout as one JSON document read from byte 0, else why not."""
    path = out / f"{step}.out"
    text = path.read_text(errors="replace") if path.exists() else ""
    if not text.strip():
        return None, "no output"
    try:
        return json.loads(text), ""
    except ValueError as exc:
        return None, f"stdout is not one JSON document from its first byte ({exc.msg} at {exc.pos}): {text[:60]!r}"


def environment_lacks(out: Path, step: str) -> str:
    """What preflight found missing that this step needs, or ''."""
    path = out / "preflight.json"
    if not path.exists() or step == "preflight":
        return ""
    pre = json.loads(path.read_text())
    lacking = [m for m in pre.get("missing", []) if m in _BASE | NEEDS.get(command_of(step), set())]
    needs = NEEDS.get(command_of(step), set())
    if ("cuda" in needs or step == "record") and not pre.get("nvidia_smi"):
        lacking.append("an NVIDIA driver (no nvidia-smi)")
    elif "cuda" in needs and "torch" not in pre.get("missing", []) and not pre.get("cuda_available"):
        lacking.append("a CUDA device torch can see")
    return ", ".join(lacking)


def figures(out: Path, step: str) -> str:
    """The numbers a reader wants from each step, in one short cell."""
    if step == "preflight":
        path = out / "preflight.json"
        if not path.exists():
            return "no report"
        p = json.loads(path.read_text())
        gpus = p.get("gpus") if isinstance(p.get("gpus"), list) else []
        gpu = f"{len(gpus)}x {gpus[0]['name']} driver {gpus[0]['driver_version']} persistence {gpus[0]['persistence_mode']} MIG {gpus[0]['mig.mode.current']}" if gpus else "no nvidia-smi"
        return f"python {p['python']}, torch {p['versions'].get('torch')} (CUDA {p.get('torch_cuda')}), {gpu}" + (f"; missing {', '.join(p['missing'])}" if p["missing"] else "")
    if step == "record":
        data, problem = parse_json(out, "record") if not (out / "machine.json").exists() else (json.loads((out / "machine.json").read_text() or "null"), "")
        if not isinstance(data, dict):
            return problem or "nothing recorded"
        o = data.get("observed", {})
        return f"{data.get('description')}; nvmlInit {o.get('nvml_init_s')} s, handles {o.get('handle_s')} s"
    if step == "pytest_gpu":
        path = out / "pytest_gpu.xml"
        if not path.exists():
            return "no report"
        suite = ET.parse(path).getroot()
        suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
        a = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
        failed = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None or c.find("error") is not None]
        return (f"{a['tests'] - a['failures'] - a['errors'] - a['skipped']} passed, {a['failures'] + a['errors']} failed, {a['skipped']} skipped"
                + (f": {', '.join(failed)}" if failed else ""))
    if not step.endswith("_json"):
        return ""
    data, problem = parse_json(out, step)
    if data is None:
        return problem
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


def result(out: Path, step: str, rc: str) -> str:
    if rc == "skip":
        return "SKIP"
    if step == "preflight" and rc == "3":
        return "ENV"  # the machine lacks what the run needs: preflight.json says what
    ok = int(rc) in PASS.get(step, _JUDGED)
    if ok and step.endswith("_json") and parse_json(out, step)[0] is None:
        ok = False
    if ok:
        return "pass"
    return "ENV" if environment_lacks(out, step) else "FAIL"


def main() -> int:
    out = Path(sys.argv[1])
    rows = [line.split("\t") for line in (out / "steps.tsv").read_text().splitlines() if line.strip()]
    bad = 0
    print(f"{'step':14} {'result':6} {'exit':>4} {'seconds':>8}  figures")
    for name, rc, ms in rows:
        verdict = result(out, name, rc)
        bad += verdict != "pass"
        try:
            cell = figures(out, name)
        except Exception as exc:  # a summary must never lose the table over one odd output
            cell = f"(figures unreadable: {type(exc).__name__}: {exc})"
        if verdict == "ENV" and environment_lacks(out, name):
            cell = f"machine lacks {environment_lacks(out, name)}; {cell}"
        print(f"{name:14} {verdict:6} {rc:>4} {int(ms) / 1000:8.1f}  {cell}")
    print("every step passed" if not bad else f"{len(rows) - bad} of {len(rows)} steps passed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
