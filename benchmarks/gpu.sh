#!/usr/bin/env bash
# The GPU checks, in one go, on a machine with a CUDA device: the doctor's and the Trainer's
# tests on the real GPU (tests take the GPU where one is; the `device` fixture adds CUDA
# twins of the GPU-path tests), divergence repaired on the GPU in the newest fault round,
# and the doctor's overhead and mixed precision's throughput there. The whole script fits
# the 10 minutes a lent device machine gives one command.
#
#   bash benchmarks/gpu.sh [OUT]     # logs to OUT (default: gpu-logs/)
#   STEPS="tests overhead" bash benchmarks/gpu.sh OUT   # some of the steps only
#
# Needs trainwell importable, and pytest-xdist and pytest-timeout beside pytest (the tests
# run in 14 processes, each test at most 150 s).
set -uo pipefail
out=${1:-gpu-logs}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
python3 -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'" || exit 2
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)" \
  | tee -a "$out/gpu.txt"

step() {  # step NAME SECONDS COMMAND...: one check, its log, its time and exit status
  local name=$1 limit=$2
  shift 2
  [[ " ${STEPS:-$name} " == *" $name "* ]] || return 0
  local start=$SECONDS
  timeout "$limit" "$@" >"$out/$name.log" 2>&1
  local rc=$?
  echo "== $name: rc $rc in $((SECONDS - start)) s" | tee -a "$out/steps.txt"
  tail -n 25 "$out/$name.log"
}

step tests 190 python3 -m pytest -v -p no:cacheprovider -n 14 --timeout 150 --tb=short \
  tests/test_health_repair.py tests/test_health_silent.py tests/test_trainer.py \
  tests/test_resume.py tests/test_health_doctor.py
grep -E "FAILED|ERROR|passed|failed" "$out/tests.log" 2>/dev/null | tail -n 30
step faults 150 python3 benchmarks/faults --split held-out-23 --only divergence --jobs 8 --seeds 3
step overhead 45 python3 benchmarks/doctor_overhead.py --device cuda --epochs 5 --rounds 3
step overhead-large 60 python3 benchmarks/doctor_overhead.py --device cuda --epochs 2 --rounds 3 \
  --rows 200000 --hidden 4096 --batch 1024
step precision 75 python3 benchmarks/precision.py --rounds 2
