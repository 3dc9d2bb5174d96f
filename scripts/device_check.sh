#!/usr/bin/env bash
# One prepared session on a lent GPU machine (its Python already has torch & co; no venv, no installs):
# the CUDA tests, every system's claims at GPU size, and the benchmarks' GPU lines. Logs go to $OUT (or ./device-out).
# Usage: bash scripts/device_check.sh [seconds-per-system-preset]
set -u
OUT=${OUT:-device-out}; mkdir -p "$OUT"
PER_SYSTEM=${1:-60}
export PYTHONUNBUFFERED=1 THEORY_TESTBED_QUIET=1 MPLBACKEND=Agg PYTHONPATH=$PWD THEORY_TESTBED_RESULTS=$PWD/results-gpu
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c "import torch, sys; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda)"; } | tee "$OUT/device.txt"
case " ${SYSTEMS:-hierarchical} " in *" hierarchical "*)  # does CUDA cholesky_solve fail at m = 18512 (pytorch#38603)?
  timeout 90 python3 scripts/check_cholesky_cuda.py 2>&1 | tee "$OUT/check_cholesky_cuda.txt";; esac
start=$(date +%s)
timeout 150 python3 -m pytest -q -m gpu -p no:cacheprovider tests 2>&1 | tee "$OUT/test-gpu.log" | tail -15
echo "test-gpu: $(( $(date +%s) - start )) s" | tee -a "$OUT/timings.txt"
for s in ${SYSTEMS:-icl lssl admm grokking hierarchical}; do
  t0=$(date +%s)
  timeout "$PER_SYSTEM" python3 -m claims "$s" --size gpu --device cuda --dtype float64 2>&1 | tee -a "$OUT/gpu-preset.log" | tail -12
  echo "gpu-preset $s: rc=${PIPESTATUS[0]} $(( $(date +%s) - t0 )) s" | tee -a "$OUT/timings.txt"
done
cp reports/validation-gpu.json reports/VALIDATION-gpu.md "$OUT/" 2>/dev/null
for s in ${BENCH_SYSTEMS:-}; do
  t0=$(date +%s)
  timeout 60 python3 -m bench "$s" 2>&1 | tee -a "$OUT/bench.log" | tail -20
  echo "bench $s: $(( $(date +%s) - t0 )) s" | tee -a "$OUT/timings.txt"
done
exit 0
