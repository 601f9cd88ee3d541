#!/usr/bin/env bash
# The paper profile on one GPU, in one command: before/after step times and the projected full run,
# then (PAPER_RUN=1 and CLEARER_DATA set) the paper profile itself within a time limit.
#
#   bash benchmarks/gpu_paper_step.sh                         # step benchmark only (~3-5 minutes)
#   PAPER_RUN=1 PAPER_LIMIT_S=900 CLEARER_DATA=/data bash benchmarks/gpu_paper_step.sh
#   SCALING=1 bash benchmarks/gpu_paper_step.sh              # also the scaling table + PNG (~3-4 minutes)
#
# "before": the engine's defaults until issue 15 (channels_last, eager, for-each optimisers, TF32 in
# cuDNN convolutions only); "now": today's defaults (compiled with CUDA graphs, fused optimisers, TF32,
# cuDNN autotuning, crops and noise drawn on the GPU, no host sync per step). "ref" is plain float32.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
PY="${PYTHON:-python3}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
"$PY" -c "import torch; assert torch.cuda.is_available(), 'no CUDA device visible to torch'; print('torch', torch.__version__)"
STEPS="${STEPS:-30}"
"$PY" benchmarks/search_step.py --device cuda --configs paper --phases search,retrain --steps "$STEPS" \
    --modes "${MODES:-ref,tf32,bf16,before,now}" | tee "${BENCH_LOG:-/tmp/gpu_paper_step.txt}"

if [ "${SCALING:-0}" = 1 ]; then
  "$PY" benchmarks/scaling.py --device cuda --out "${SCALING_OUT:-scaling-cuda.png}" | tee "${SCALING_LOG:-/tmp/scaling-cuda.txt}"
fi

if [ "${PAPER_RUN:-0}" = 1 ]; then
  : "${CLEARER_DATA:?set CLEARER_DATA to the benchmark images (BSDS500, BSD68, Set12) for the paper run}"
  OUT="${PAPER_OUT:-runs/paper-gpu-$(date +%Y%m%d-%H%M%S)}"
  # the compiled path unless the benchmark could not run it on this machine
  SETS=(--set data.degradation.sigma=50)
  grep -q "^paper  *search  *now .*failed" "${BENCH_LOG:-/tmp/gpu_paper_step.txt}" && SETS+=(--set compile=off)
  start=$(date +%s)
  timeout "${PAPER_LIMIT_S:-900}" "$PY" -m clearer run recipes/bsd.py --profile paper "${SETS[@]}" --out "$OUT" --quiet \
    || echo "paper run stopped after $(( $(date +%s) - start )) s (limit ${PAPER_LIMIT_S:-900} s); resume with --resume $OUT"
  echo "paper run wall time: $(( $(date +%s) - start )) s"
  [ -f "$OUT/metrics.json" ] && "$PY" -c "import json,sys; m=json.load(open(sys.argv[1])); print(json.dumps({'times': m['times'], 'bsds500-test': m['sets'].get('bsds500-test')}, indent=1))" "$OUT/metrics.json"
fi
