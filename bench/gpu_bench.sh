#!/usr/bin/env bash
# GPU benchmark of the Fugatto Audio Lab service: throughput with and without batching on CUDA,
# the batching speedup, and the NVML GPU gauges as /metrics exposes them.
#
#   bash bench/gpu_bench.sh            # from the repository root, on a machine with an NVIDIA GPU
#
# Needs Python >= 3.11. Creates a venv in ${VENV:-/tmp/v} that can see system site-packages, so
# a CUDA torch already installed on the machine is reused; otherwise pip installs the project's
# pinned torch (SKIP_INSTALL=1 uses an already provisioned VENV as it is). Budget: ~1-2 min install (less with a preinstalled torch), ~1 min benchmark.
#
# Offline machines (no package index, a CUDA torch already in python3): download the service's
# wheels elsewhere into a folder and pass it as WHEELS=folder. They are installed with --no-index
# into a private target directory and the machine's own python3 and torch are used, no venv:
#
#   pip download --only-binary=:all: --python-version 3.12 --platform manylinux2014_x86_64 \
#       -d .whl fastapi uvicorn uvloop httptools prometheus-client python-json-logger psutil \
#       nvidia-ml-py opentelemetry-sdk opentelemetry-exporter-otlp-proto-http
#   WHEELS=.whl bash bench/gpu_bench.sh
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=${VENV:-/tmp/v}
SECONDS_PER_POINT=${SECONDS_PER_POINT:-5}
AUDIO_SECONDS=${AUDIO_SECONDS:-2.0}
step() { printf '\n==== %s\n' "$*"; }
die() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }

step "machine"
if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=index,name,driver_version,memory.total,utilization.gpu --format=csv || true
else
    echo "nvidia-smi not found (the benchmark still runs; GPU gauges need NVML from the driver)"
fi
echo "cpus: $(nproc)"

step "python"
PY=""
for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
        "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
        PY=$(command -v "$candidate")
        break
    fi
done
[ -n "$PY" ] || die "no Python >= 3.11 found (tried python3.13, python3.12, python3.11, python3)"
echo "using $PY ($("$PY" --version 2>&1))"

if [ -n "${WHEELS:-}" ]; then
    step "offline install of $WHEELS into /tmp/fugatto-site (machine python3 and torch)"
    "$PY" -m pip install --quiet --no-index --no-deps --no-compile --upgrade --target /tmp/fugatto-site "$WHEELS"/*.whl ||
        die "installing the wheels in $WHEELS failed"
    # The wheels first, then the project's own packages from the checkout (no install needed).
    export PYTHONPATH="/tmp/fugatto-site:$PWD/service:$PWD${PYTHONPATH:+:$PYTHONPATH}"
    VPY=$PY
    SKIP_INSTALL=1
else
    step "virtualenv in $VENV"
    if [ ! -x "$VENV/bin/python" ]; then
        "$PY" -m venv --system-site-packages "$VENV" || die "python -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
    fi
    VPY="$VENV/bin/python"
    "$VPY" -m pip --version >/dev/null 2>&1 || "$VPY" -m ensurepip --upgrade || die "pip is missing in $VENV"

    if [ "${SKIP_INSTALL:-0}" = 1 ]; then
        echo "SKIP_INSTALL=1: using $VENV as it is"
    elif "$VPY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
        echo "reusing installed CUDA torch $("$VPY" -c 'import torch; print(torch.__version__)')"
        # Install the project without letting pip replace the working CUDA torch.
        "$VPY" -m pip install --quiet -e . -e ./service --no-deps || die "pip install -e . -e ./service failed"
        "$VPY" - <<'PYDEPS' > /tmp/fugatto-service-deps.txt
import tomllib
deps = tomllib.load(open("service/pyproject.toml", "rb"))["project"]["dependencies"]
print("\n".join(d for d in deps if not d.replace(" ", "").startswith("torch")))
PYDEPS
        "$VPY" -m pip install --quiet -r /tmp/fugatto-service-deps.txt || die "installing the service dependencies failed"
    else
        echo "no CUDA torch in $VENV yet: installing the project's pinned torch (large download)"
        "$VPY" -m pip install --quiet -e . -e ./service || die "pip install -e . -e ./service failed"
    fi
fi

step "torch"
"$VPY" - <<'PYCHECK'
import torch
print(f"torch {torch.__version__}, CUDA build {torch.version.cuda}, cuda available: {torch.cuda.is_available()}")
if torch.cuda.is_available():
    print(f"device 0: {torch.cuda.get_device_name(0)}")
PYCHECK
DEVICE=$("$VPY" -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")')
[ "$DEVICE" = cuda ] || echo "WARNING: CUDA is not available to torch; the numbers below are CPU numbers"

step "model alone: one batched pass vs one pass per request ($AUDIO_SECONDS s of audio, mixed prompts)"
AUDIO_SECONDS=$AUDIO_SECONDS DEVICE=$DEVICE "$VPY" - <<'PYMODEL'
import os, time
import torch
from fugatto_lab.models import BuiltinSynthModel, generate_all
device = os.environ["DEVICE"]
n = int(float(os.environ["AUDIO_SECONDS"]) * 16000)
model = BuiltinSynthModel(device)
prompts = ["a calm 440 Hz sine tone", "rain on a tin roof", "fast drum loop at 140 bpm", "low cello drone"]
def run(batch: int, reps: int) -> float:
    ps = [prompts[i % 4] for i in range(batch)]
    generate_all(model, ps, [n] * batch, list(range(batch)))
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(reps):
        generate_all(model, ps, [n] * batch, list(range(batch)))
    if device == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / reps
for batch in (1, 8, 32, 64):
    dt = run(batch, 20)
    print(f"batch {batch:3d}: {dt * 1000:8.2f} ms per pass, {batch / dt:9.1f} generations/s")
PYMODEL

step "service over HTTP ($SECONDS_PER_POINT s per point)"
"$VPY" bench/service_bench.py throughput --device "$DEVICE" --seconds "$SECONDS_PER_POINT" \
    --audio-seconds "$AUDIO_SECONDS" --max-batch 32 --show-gpu

step "done"
