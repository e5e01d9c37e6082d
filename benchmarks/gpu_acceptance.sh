#!/usr/bin/env bash
# envcheck on a real NVIDIA GPU, unattended, in one call:  benchmarks/gpu_acceptance.sh [OUTDIR]
#
# Written for a machine lent for minutes with no network. Its Python must already hold the script's
# stated dependencies: torch with CUDA, nvidia-ml-py, typer, rich, packaging, pytest, onnx,
# onnxruntime (onnxruntime-gpu for the CUDA provider) and onnxscript. envcheck runs from this tree
# (PYTHONPATH); nothing is fetched. The first step (preflight) checks those and records the machine;
# a step that fails because the machine lacks something is marked ENV, not FAIL, so a bare machine
# is never mistaken for a broken envcheck.
#
# The whole run is capped at GPU_ACCEPTANCE_BUDGET seconds (default 420, 7 minutes) by
# construction: each step's own limit is cut to what is left, and a step with too little time left
# is recorded as SKIP. The cheap steps that tell the most run first. Under OUTDIR (default
# ./gpu-acceptance) each step leaves <step>.out/.err and a line in steps.tsv, and summary.txt is
# rewritten as each step ends, so a run killed midway still leaves its summary.
# Exit 0 when every step passed, 1 otherwise.
#
#   PYTHON=python3              the interpreter to use
#   GPU_ACCEPTANCE_BUDGET=420   seconds for the whole run
#   GPU_ACCEPTANCE_QUICK=1      one reference network and exporter in the onnx steps
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-$ROOT/gpu-acceptance}"
PY="${PYTHON:-python3}"
BUDGET="${GPU_ACCEPTANCE_BUDGET:-420}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
: > "$OUT/steps.tsv"
cd "$ROOT" || exit 1
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export PIP_NO_INDEX=1 PYTHONDONTWRITEBYTECODE=1 NO_COLOR=1 PYTHONUNBUFFERED=1
BEGAN=$SECONDS
RESERVE=10  # seconds kept back for the summary

ONNX_ARGS=(--network cifar_cnn --exporter torchscript)
if [ "${GPU_ACCEPTANCE_QUICK:-0}" != "1" ]; then
  ONNX_ARGS=()
fi

# Written whole then moved into place, so a kill mid-write leaves the previous summary, never half of one.
summarise() { "$PY" "$ROOT/benchmarks/gpu_summary.py" "$OUT" > "$OUT/summary.tmp" 2>&1; mv -f "$OUT/summary.tmp" "$OUT/summary.txt"; }
trap 'summarise; exit 130' INT TERM

# step NAME SECONDS COMMAND...: run it under min(SECONDS, time left), keep its output, record rc and
# time, rewrite the summary. With less than a quarter of its limit left it is skipped (rc "skip").
step() {
  local name="$1" limit="$2"
  shift 2
  local left=$(( BUDGET - (SECONDS - BEGAN) - RESERVE ))
  if [ "$left" -lt $(( limit / 4 )) ] || [ "$left" -lt 5 ]; then
    printf '%s\tskip\t0\n' "$name" >>"$OUT/steps.tsv"
    echo "gpu_acceptance: $name skipped: ${left}s left of the ${BUDGET}s budget" >&2
    summarise
    return
  fi
  [ "$left" -lt "$limit" ] && limit=$left
  local start end rc
  start=$(date +%s%N)
  timeout -k 5 "$limit" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
  rc=$?
  end=$(date +%s%N)
  printf '%s\t%s\t%s\n' "$name" "$rc" "$(( (end - start) / 1000000 ))" >>"$OUT/steps.tsv"
  echo "gpu_acceptance: $name exit $rc" >&2
  summarise
}

# What the machine is, before anything is judged: the dependencies, the driver's full report,
# persistence, MIG, ECC, the visible devices, and NVML's answers as a replayable fixture.
step preflight 30 "$PY" "$ROOT/benchmarks/gpu_preflight.py" "$OUT"
step record 30 sh -c "'$PY' '$ROOT/tools/record_machine.py' > '$OUT/machine.json'"
# Cheap and telling first.
step gpus_json 60 "$PY" -m envcheck gpus --json
step doctor_json 120 "$PY" -m envcheck doctor --json --save "$OUT/snapshot.json"
step bench_json 150 "$PY" -m envcheck bench --gpus 0 --level quick --json
step cluster_json 150 "$PY" -m torch.distributed.run --nproc-per-node=1 -m envcheck cluster --json
step onnx_json 150 "$PY" -m envcheck onnx --network cifar_cnn --exporter torchscript --json
# The figures against nvidia-smi, torch and the datasheet; no conftest: it needs only pytest.
step pytest_gpu 240 "$PY" -m pytest --noconftest -m gpu -q -p no:cacheprovider -rs tests/test_gpu.py --junitxml="$OUT/pytest_gpu.xml"
# Text forms: doctor's rendered from the snapshot just saved; the others are cheap enough to run.
step doctor_text 30 "$PY" -m envcheck doctor --from "$OUT/snapshot.json"
step gpus_text 30 "$PY" -m envcheck gpus
step bench_text 90 "$PY" -m envcheck bench --gpus 0 --level quick --suite matmul
step onnx_text 120 "$PY" -m envcheck onnx ${ONNX_ARGS[@]+"${ONNX_ARGS[@]}"}

trap - INT TERM
summarise
cat "$OUT/summary.txt"
tail -n 1 "$OUT/summary.txt" | grep -q '^every step passed' && exit 0
exit 1
