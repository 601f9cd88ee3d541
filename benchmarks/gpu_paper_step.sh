#!/usr/bin/env bash
# Paper-profile search and retrain steps on a GPU, with the projected full-run times.
# Run from the repository root on a CUDA machine: bash benchmarks/gpu_paper_step.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 benchmarks/search_step.py --device cuda --configs paper --phases search,retrain --steps 20
