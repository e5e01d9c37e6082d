#!/usr/bin/env bash
# envcheck on a real NVIDIA GPU, unattended, in one call:  benchmarks/gpu_acceptance.sh [OUTDIR]
#
# Written for a machine lent for minutes with no network, whose Python already has torch with CUDA,
# nvidia-ml-py, typer, rich, pytest and onnxruntime: envcheck runs from this tree (PYTHONPATH), and
# nothing is fetched. Under OUTDIR (default ./gpu-acceptance) each step leaves <step>.out/.err and
# a line in steps.tsv; the summary table, printed last, is also summary.txt. Under 8 minutes on one
# GPU. Exit 0 when every step passed, 1 otherwise.
#
#   PYTHON=python3              the interpreter to use
#   GPU_ACCEPTANCE_QUICK=1      one reference network and exporter in the onnx steps (the test that
#                               runs this script on recorded machines' fakes sets it)
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-$ROOT/gpu-acceptance}"
PY="${PYTHON:-python3}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
: > "$OUT/steps.tsv"
cd "$ROOT" || exit 1
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export PIP_NO_INDEX=1 PYTHONDONTWRITEBYTECODE=1 NO_COLOR=1

ONNX_ARGS=()
if [ "${GPU_ACCEPTANCE_QUICK:-0}" = "1" ]; then
  ONNX_ARGS=(--network cifar_cnn --exporter torchscript)
fi

# step NAME SECONDS COMMAND...: run it under a deadline, keep its output, record rc and time.
step() {
  local name="$1" limit="$2"
  shift 2
  local start end rc
  start=$(date +%s%N)
  timeout -k 10 "$limit" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
  rc=$?
  end=$(date +%s%N)
  printf '%s\t%s\t%s\n' "$name" "$rc" "$(( (end - start) / 1000000 ))" >>"$OUT/steps.tsv"
  echo "gpu_acceptance: $name exit $rc" >&2
}

step machine 60 sh -c "$PY -c 'import sys, torch; print(sys.version.split()[0], torch.__version__, torch.version.cuda, torch.cuda.is_available())' \
  && nvidia-smi && nvidia-smi -q -x > '$OUT/nvidia-smi.xml'"
step pytest_gpu 240 "$PY" -m pytest -m gpu -q -p no:cacheprovider -rs tests/test_gpu.py --junitxml="$OUT/pytest_gpu.xml"
step doctor_json 120 "$PY" -m envcheck doctor --json
step doctor_text 120 "$PY" -m envcheck doctor
if "$PY" -m envcheck gpus --help >/dev/null 2>&1; then
  step gpus_json 60 "$PY" -m envcheck gpus --json
  step gpus_text 60 "$PY" -m envcheck gpus
fi
step bench_json 180 "$PY" -m envcheck bench --gpus 0 --level quick --json
step bench_text 180 "$PY" -m envcheck bench --gpus 0 --level quick --suite matmul
step onnx_json 180 "$PY" -m envcheck onnx ${ONNX_ARGS[@]+"${ONNX_ARGS[@]}"} --json
step onnx_text 180 "$PY" -m envcheck onnx ${ONNX_ARGS[@]+"${ONNX_ARGS[@]}"}
step cluster_json 180 "$PY" -m torch.distributed.run --nproc-per-node=1 -m envcheck cluster --json

"$PY" "$ROOT/benchmarks/gpu_summary.py" "$OUT" | tee "$OUT/summary.txt"
exit "${PIPESTATUS[0]}"
