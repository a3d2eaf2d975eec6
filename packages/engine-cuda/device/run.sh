#!/usr/bin/env bash
# THE one script for a GPU-machine call (run from the repo root there; see device/README.md for the `run` call).
#
#   packages/engine-cuda/device/run.sh [STAGE ...]
#
# Stages (in the order `all` runs them; each step has its own timeout and a failure never stops the next one):
#   synth     start `synth --preset qwen3-4b` in the background (setsid; it outlives this call while the machine
#             stays warm) unless /tmp/qb-models/qwen3-4b is done or being made. ~8-9 min of one CPU core, ~20 GB RAM,
#             12.4 GB of disk. `speed` and `hf` wait for it (QB_SYNTH_WAIT seconds, default 420).
#   env       nvidia-smi, driver, CUDA, nvcc, cuBLASLt headers, compute-sanitizer, python/torch/transformers, node
#   build     kernel objects, test_matmul, test_layer_kernels, kernel_bench; the addon if node is carried
#   tests     test_matmul, test_layer_kernels
#   sanitize  both under compute-sanitizer memcheck, and racecheck (QB_RACECHECK_ARGS: args selecting small cases)
#   bench     kernel_bench -> kernel_bench.json
#   parity    tiny synthetic preset: `logits` of --engine cuda vs cpu for bf16/w8a16/w8a8; greedy generation match;
#             the HF transformers logits of tiny bf16 vs the CPU engine (cross-check of the reference)
#   speed     the CUDA engine speed bench on qwen3-4b (cuda-speed.mjs, bundled by pack.sh) -> cuda_speed.json
#   hf        the transformers peer on qwen3-4b (hf_peer.py speed) -> hf_peer.json
# Groups: kernels = env build tests sanitize bench (and starts synth); e2e = env build parity speed hf;
#         all = synth env build tests sanitize bench parity speed hf. Default: all.
#
# Everything lands under $OUT (at most 8 files come back): summary.txt, kernel_bench.json, cuda_speed.json,
# hf_peer.json, parity.json, logs.tar.gz (every log, JSON, logits comparison and the reports/runs directory).
# Environment: QB_NVCC_ARCH (default "-gencode arch=compute_90,code=sm_90"), QB_SYNTH_WAIT, QB_QUICK=1 (short
# benches), QB_RACECHECK_ARGS, QB_TEST_ARGS, QB_STEP_SCALE (multiplies every timeout).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$ROOT"
PKG="$ROOT/packages/engine-cuda"
DEVDIR="$ROOT/.device"
OUT="${OUT:-/tmp/qb-out}"
WORK="${QB_WORK:-/tmp/qb-run}"
BUILD="${QB_BUILD:-/tmp/qb-build}"
MODELS="${QB_MODELS:-/tmp/qb-models}"
LOGS="$WORK/logs"
mkdir -p "$OUT" "$WORK" "$LOGS" "$BUILD" "$MODELS"
STEPS="$WORK/steps.tsv"
: >"$STEPS"
export ROOT PKG DEVDIR OUT WORK BUILD MODELS LOGS STEPS
ARCH="${QB_NVCC_ARCH:--gencode arch=compute_90,code=sm_90}"
SCALE="${QB_STEP_SCALE:-1}"
QUICK="${QB_QUICK:-0}"
STARTED=$(date +%s)
export ARCH SCALE QUICK STARTED
export PYTHONUNBUFFERED=1

# ---- helpers --------------------------------------------------------------------------------------------------------

NVCC="$(command -v nvcc || true)"
[[ -z "$NVCC" && -x /usr/local/cuda/bin/nvcc ]] && NVCC=/usr/local/cuda/bin/nvcc
NODE=""
PY="$(command -v python3 || true)"
SYNTH_DIR="$MODELS/qwen3-4b"
export NVCC NODE PY SYNTH_DIR

elapsed() { echo $(($(date +%s) - STARTED)); }

# step NAME TIMEOUT_S COMMAND...: runs with a time cap, logs to $LOGS/NAME.log, records status and seconds.
step() {
  local name="$1" limit="$2"
  shift 2
  limit=$(awk -v l="$limit" -v s="$SCALE" 'BEGIN { printf "%d", l * s }')
  local t0 rc status
  t0=$(date +%s)
  echo "=== [$(elapsed)s] $name (cap ${limit}s)"
  if declare -F "$1" >/dev/null; then
    # A shell function: run it in a fresh bash that has every function of this script (variables are exported).
    timeout --kill-after=10 "$limit" bash -c "$(declare -f); \"\$@\"" _ "$@" >"$LOGS/$name.log" 2>&1
  else
    timeout --kill-after=10 "$limit" "$@" >"$LOGS/$name.log" 2>&1
  fi
  rc=$?
  case $rc in
    0) status=ok ;;
    124 | 137) status="TIMEOUT(${limit}s)" ;;
    *) status="FAIL(rc=$rc)" ;;
  esac
  printf '%s\t%s\t%ss\n' "$name" "$status" "$(($(date +%s) - t0))" >>"$STEPS"
  echo "--- $name: $status in $(($(date +%s) - t0))s; last lines:"
  tail -n 6 "$LOGS/$name.log" | sed 's/^/    /'
  collect
  return $rc
}

skip() { # NAME REASON
  printf '%s\tSKIP\t%s\n' "$1" "$2" >>"$STEPS"
  echo "=== $1: skipped ($2)"
}

# Copies results into $OUT after every step, so a call cut short still returns what it finished.
collect() {
  for f in kernel_bench.json cuda_speed.json hf_peer.json parity.json; do
    [[ -f "$WORK/$f" ]] && cp "$WORK/$f" "$OUT/$f"
  done
  [[ -d "$ROOT/reports/runs" ]] && { mkdir -p "$WORK/reports"; cp -r "$ROOT/reports/runs/." "$WORK/reports/" 2>/dev/null; }
  tar -czf "$OUT/logs.tar.gz.partial" -C "$WORK" . 2>/dev/null && mv "$OUT/logs.tar.gz.partial" "$OUT/logs.tar.gz"
  summary >"$OUT/summary.txt"
}

find_cublaslt() { # prints "-I<dir> <link flags>" for cublasLt, or nothing
  local inc="" lib=""
  for d in /usr/local/cuda/include /usr/local/cuda/targets/x86_64-linux/include /usr/include; do
    [[ -f "$d/cublasLt.h" ]] && { inc="$d"; break; }
  done
  for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/lib/x86_64-linux-gnu; do
    [[ -e "$d/libcublasLt.so" ]] && { lib="-L$d -lcublasLt -Xlinker -rpath=$d"; break; }
  done
  if [[ -z "$inc" || -z "$lib" ]] && [[ -n "$PY" ]]; then
    # PyTorch's nvidia-cublas wheel: headers and libcublasLt.so.N (no unversioned link: name the file).
    local wheel
    wheel="$("$PY" - <<'EOF' 2>/dev/null
import glob, os
try:
    import nvidia
    roots = list(nvidia.__path__)
except Exception:
    roots = []
for root in roots:
    for inc in glob.glob(os.path.join(root, "**", "include", "cublasLt.h"), recursive=True):
        libdir = os.path.join(os.path.dirname(os.path.dirname(inc)), "lib")
        libs = sorted(glob.glob(os.path.join(libdir, "libcublasLt.so*")))
        if libs:
            print(os.path.dirname(inc), libs[0])
            raise SystemExit
EOF
)"
    if [[ -n "$wheel" ]]; then
      [[ -z "$inc" ]] && inc="${wheel%% *}"
      [[ -z "$lib" ]] && { local so="${wheel#* }"; lib="$so -Xlinker -rpath=$(dirname "$so")"; }
    fi
  fi
  [[ -n "$inc" && -n "$lib" ]] && echo "-I$inc $lib"
}

kernel_sources() { ls "$PKG"/native/kernels/*.cu 2>/dev/null; }

# ---- stages ---------------------------------------------------------------------------------------------------------

stage_env() {
  step env 60 bash -c '
    echo "## date: $(date -u +%FT%TZ)  host: $(uname -a)"
    echo "## nvidia-smi"; nvidia-smi || echo "nvidia-smi: unavailable"
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,clocks.mem,temperature.gpu,power.draw --format=csv 2>/dev/null
    echo "## nvcc"; '"${NVCC:-nvcc}"' --version 2>&1 | tail -2
    echo "## cublasLt: '"$(find_cublaslt)"'"
    echo "## compute-sanitizer: $(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || echo none)"
    echo "## cmake: $(cmake --version 2>/dev/null | head -1)  ninja: $(ninja --version 2>/dev/null)  make: $(make --version 2>/dev/null | head -1)"
    echo "## python: $('"${PY:-python3}"' -c "import sys, torch, transformers; print(sys.version.split()[0], \"torch\", torch.__version__, \"cuda\", torch.version.cuda, \"transformers\", transformers.__version__, \"gpu\", torch.cuda.is_available())" 2>&1 | tail -1)"
    echo "## node: '"${NODE:-not carried}"' $('"${NODE:-true}"' --version 2>/dev/null)"
    echo "## memory"; free -g; echo "## disk"; df -h / /tmp | tail -n +1
    echo "## cpu: $(nproc) cores, $(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2)"'
  cat "$LOGS/env.log"
}

unpack_device() {
  # Unpacked outside the repo (/tmp/qb-device): nothing unpacked can be carried back by a later call.
  export QB_UNPACK="${QB_UNPACK:-/tmp/qb-device}"
  if [[ -d "$DEVDIR" ]]; then
    bash "$PKG/device/unpack.sh" "$DEVDIR" && [[ -x "$QB_UNPACK/node" ]] && NODE="$QB_UNPACK/node"
  fi
  export NODE
  if [[ -n "$NODE" ]]; then
    export PATH="$QB_UNPACK:$PATH" # CMakeLists.txt runs `node` to find node-addon-api
    export NODE_PATH="$QB_UNPACK/node_modules:$DEVDIR/node_modules"
    [[ -f "$DEVDIR/COMMIT" ]] && export QUANTBENCH_COMMIT="$(cat "$DEVDIR/COMMIT")"
  fi
}

build_kernel_objects() {
  mkdir -p "$BUILD/kernels"
  local sources
  sources=$(kernel_sources)
  [[ -z "$sources" ]] && { echo "no kernels under native/kernels"; return 1; }
  # One nvcc per kernel file, in parallel; objects newer than their source (and kernels.h) are kept.
  printf '%s\n' $sources | xargs -P "$(nproc)" -I{} bash -c '
    src="{}"; obj="'"$BUILD"'/kernels/$(basename "${src%.cu}").o"
    if [[ "$obj" -nt "$src" && "$obj" -nt "'"$PKG"'/native/kernels/kernels.h" ]]; then exit 0; fi
    '"$NVCC"' -std=c++17 -O3 -lineinfo '"$ARCH"' -I'"$PKG"'/native/kernels -c "$src" -o "$obj" || exit 255'
}

stage_build() {
  if [[ -z "$NVCC" ]]; then
    skip build "no nvcc"
    return
  fi
  step build-kernels 300 build_kernel_objects
  local objs
  objs=$(ls "$BUILD"/kernels/*.o 2>/dev/null | tr '\n' ' ')
  for t in test_matmul test_layer_kernels; do
    if [[ -f "$PKG/native/test/$t.cu" ]]; then
      step "build-$t" 240 "$NVCC" -std=c++17 -O3 -lineinfo $ARCH -I"$PKG/native/kernels" -I"$PKG/native/test" \
        "$PKG/native/test/$t.cu" $objs ${QB_TEST_LIBS:-} -o "$BUILD/$t"
    else
      skip "build-$t" "native/test/$t.cu not in the tree"
    fi
  done
  local lt
  lt="$(find_cublaslt)"
  if [[ -z "$lt" ]]; then
    echo "kernel_bench: no cuBLASLt found; building without the cuBLASLt comparisons"
    lt="-DQB_NO_CUBLASLT"
  fi
  step build-kernel_bench 240 "$NVCC" -std=c++17 -O3 -lineinfo $ARCH -I"$PKG/native/kernels" \
    $lt "$PKG/native/bench/kernel_bench.cu" $objs -o "$BUILD/kernel_bench"
  if [[ -n "$NODE" ]]; then
    step build-addon 420 build_addon
    [[ -f "$PKG/build/Release/quantbench_cuda.node" ]] && export QUANTBENCH_CUDA_ADDON="$PKG/build/Release/quantbench_cuda.node"
  else
    skip build-addon "node not carried (.device/node.xz; run pack.sh here and carry .device)"
  fi
}

build_addon() {
  local gen=()
  command -v ninja >/dev/null && gen=(-G Ninja)
  # Configured in its own folder (a build/ made by cmake-js here may use another generator); the addon lands where
  # src/native.ts looks for it: packages/engine-cuda/build/Release/quantbench_cuda.node.
  cmake -S "$PKG" -B "$BUILD/addon" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_COMPILER="$NVCC" \
    -DCMAKE_JS_INC="$DEVDIR/node_modules/node-api-headers/include" -DQB_CUDA_ARCHITECTURES="${QB_CUDA_ARCHS:-90}" \
    -DCMAKE_LIBRARY_OUTPUT_DIRECTORY="$PKG/build/Release" &&
    cmake --build "$BUILD/addon" --parallel "$(nproc)" || return 1
  local addon
  addon=$(find "$PKG/build/Release" "$BUILD/addon" -name '*.node' -type f 2>/dev/null | head -1)
  [[ -z "$addon" ]] && { echo "no .node file was built"; return 1; }
  echo "addon: $addon"
  mkdir -p "$PKG/build/Release"
  [[ -e "$PKG/build/Release/quantbench_cuda.node" ]] || cp "$addon" "$PKG/build/Release/quantbench_cuda.node"
}

stage_tests() {
  for t in test_matmul test_layer_kernels; do
    if [[ -x "$BUILD/$t" ]]; then step "$t" 180 "$BUILD/$t" ${QB_TEST_ARGS:-}; else skip "$t" "not built"; fi
  done
}

stage_sanitize() {
  local cs
  cs="$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null)"
  [[ -z "$cs" ]] && { skip sanitize "no compute-sanitizer"; return; }
  for t in test_matmul test_layer_kernels; do
    [[ -x "$BUILD/$t" ]] || { skip "memcheck-$t" "not built"; continue; }
    step "memcheck-$t" 300 "$cs" --tool memcheck --error-exitcode 86 --print-limit 20 "$BUILD/$t" ${QB_TEST_ARGS:-}
    step "racecheck-$t" 240 "$cs" --tool racecheck --error-exitcode 86 --print-limit 20 "$BUILD/$t" ${QB_RACECHECK_ARGS:-}
  done
}

stage_bench() {
  [[ -x "$BUILD/kernel_bench" ]] || { skip kernel_bench "not built"; return; }
  local args=("$WORK/kernel_bench.json")
  [[ "$QUICK" == 1 ]] && args+=(--quick)
  step kernel_bench 300 "$BUILD/kernel_bench" "${args[@]}"
  sed -n '1,400p' "$LOGS/kernel_bench.log" >"$WORK/kernel_bench.txt"
}

synth_done() { [[ -f "$SYNTH_DIR/bf16/config.json" && -f "$SYNTH_DIR/fp8/config.json" ]]; }
synth_running() { [[ -f "$MODELS/synth.pid" ]] && kill -0 "$(cat "$MODELS/synth.pid")" 2>/dev/null; }

stage_synth() {
  if synth_done; then skip synth "already made: $SYNTH_DIR"; return; fi
  if synth_running; then skip synth "already running (pid $(cat "$MODELS/synth.pid"))"; return; fi
  [[ -n "$NODE" ]] || { skip synth "node not carried"; return; }
  # setsid: a new session, so the device tool lets it run on after this call returns (machine warm).
  setsid bash -c "echo \$\$ >'$MODELS/synth.pid'; exec '$NODE' '$DEVDIR/quantbench.mjs' synth --preset qwen3-4b --out '$SYNTH_DIR'" \
    >"$LOGS/synth-qwen3-4b.log" 2>&1 </dev/null &
  sleep 1
  printf 'synth\tstarted\tbackground pid %s, log logs/synth-qwen3-4b.log\n' "$(cat "$MODELS/synth.pid" 2>/dev/null)" >>"$STEPS"
  echo "=== synth qwen3-4b started in the background -> $SYNTH_DIR"
}

wait_synth() {
  local limit="${QB_SYNTH_WAIT:-420}" t0
  t0=$(date +%s)
  while ! synth_done; do
    if ! synth_running; then
      echo "synth is not running and $SYNTH_DIR is incomplete (see logs/synth-qwen3-4b.log)"
      return 1
    fi
    if (($(date +%s) - t0 > limit)); then
      echo "gave up waiting for synth after ${limit}s"
      return 1
    fi
    sleep 5
  done
  printf 'synth-wait\tok\t%ss\n' "$(($(date +%s) - t0))" >>"$STEPS"
}

# A fixed prompt's ids (the tiny preset has the real Qwen3 vocabulary).
PARITY_IDS="151644,872,198,3838,374,279,6722,315,9625,30,151645,198,151644,77091,198,785,6722,315,9625,374,12095,13,576,3974,13876,38835,34208,916,279,15678,5562,13"

stage_parity() {
  [[ -n "$NODE" ]] || { skip parity "node not carried"; return; }
  local T="$MODELS/tiny" P="$WORK/parity"
  mkdir -p "$P"
  [[ -f "$T/bf16/config.json" && -f "$T/fp8/config.json" ]] ||
    step synth-tiny 120 "$NODE" "$DEVDIR/quantbench.mjs" synth --preset tiny --out "$T"
  echo '{"cases": [' >"$P/parity.jsonl.tmp"
  local first=1
  for kernel in bf16 w8a16 w8a8; do
    local dir="$T/bf16"
    [[ $kernel != bf16 ]] && dir="$T/fp8"
    step "logits-cpu-$kernel" 180 "$NODE" "$DEVDIR/quantbench.mjs" logits --engine cpu --model "$dir" --kernel $kernel --ids "$PARITY_IDS" --out "$P/cpu-$kernel.f32"
    step "logits-cuda-$kernel" 180 "$NODE" "$DEVDIR/quantbench.mjs" logits --engine cuda --model "$dir" --kernel $kernel --ids "$PARITY_IDS" --out "$P/cuda-$kernel.f32"
    if [[ -f "$P/cpu-$kernel.f32" && -f "$P/cuda-$kernel.f32" ]]; then
      step "parity-$kernel" 60 "$PY" "$PKG/device/hf_peer.py" compare "$P/cpu-$kernel.f32" "$P/cuda-$kernel.f32" --json "$P/cmp-$kernel.json"
      [[ -f "$P/cmp-$kernel.json" ]] && { ((first)) || echo ',' >>"$P/parity.jsonl.tmp"; first=0; printf '{"kernel": "%s", "case": "cuda vs cpu logits", "result": %s}' $kernel "$(cat "$P/cmp-$kernel.json")" >>"$P/parity.jsonl.tmp"; }
    fi
    # Greedy generation: the token streams of the two engines should match (bf16 and w8a16 exactly in practice).
    step "generate-cpu-$kernel" 180 bash -c "'$NODE' '$DEVDIR/quantbench.mjs' generate --engine cpu --model '$dir' --kernel $kernel --thinking off --greedy --max-new 48 --prompt 'Name three primary colours.' >'$P/gen-cpu-$kernel.txt'"
    step "generate-cuda-$kernel" 180 bash -c "'$NODE' '$DEVDIR/quantbench.mjs' generate --engine cuda --model '$dir' --kernel $kernel --thinking off --greedy --max-new 48 --prompt 'Name three primary colours.' >'$P/gen-cuda-$kernel.txt'"
    if [[ -s "$P/gen-cpu-$kernel.txt" && -s "$P/gen-cuda-$kernel.txt" ]]; then
      local same=false
      cmp -s "$P/gen-cpu-$kernel.txt" "$P/gen-cuda-$kernel.txt" && same=true
      printf 'greedy-match-%s\t%s\t\n' $kernel "$([[ $same == true ]] && echo ok || echo DIFFERS)" >>"$STEPS"
      ((first)) || echo ',' >>"$P/parity.jsonl.tmp"
      first=0
      printf '{"kernel": "%s", "case": "greedy generation, 48 tokens", "identical": %s}' $kernel $same >>"$P/parity.jsonl.tmp"
    fi
  done
  # Hugging Face transformers (float32 upcast of the BF16 weights) against the CPU engine: checks the reference.
  if [[ -n "$PY" ]]; then
    step hf-logits-bf16 240 "$PY" "$PKG/device/hf_peer.py" logits --model "$T/bf16" --ids "$PARITY_IDS" --out "$P/hf-bf16.f32" --dtype float32
    if [[ -f "$P/hf-bf16.f32" && -f "$P/cpu-bf16.f32" ]]; then
      step hf-vs-cpu-bf16 60 "$PY" "$PKG/device/hf_peer.py" compare "$P/hf-bf16.f32" "$P/cpu-bf16.f32" --json "$P/cmp-hf-cpu.json"
      [[ -f "$P/cmp-hf-cpu.json" ]] && { ((first)) || echo ',' >>"$P/parity.jsonl.tmp"; first=0; printf '{"kernel": "bf16", "case": "hf float32 vs cpu logits", "result": %s}' "$(cat "$P/cmp-hf-cpu.json")" >>"$P/parity.jsonl.tmp"; }
    fi
  fi
  echo ']}' >>"$P/parity.jsonl.tmp"
  mv "$P/parity.jsonl.tmp" "$WORK/parity.json"
  collect
}

stage_speed() {
  [[ -n "$NODE" ]] || { skip speed "node not carried"; return; }
  [[ -f "$DEVDIR/cuda-speed.mjs" ]] || { skip speed "no .device/cuda-speed.mjs (pack.sh bundles it once packages/engine-cuda/src exists)"; return; }
  step synth-wait "$((${QB_SYNTH_WAIT:-420} + 30))" wait_synth || { skip speed "no qwen3-4b checkpoint"; return; }
  local args=(--checkpoint "$SYNTH_DIR" --json "$WORK/cuda_speed.json" --reports "$ROOT/reports")
  [[ -f "$WORK/kernel_bench.json" ]] && args+=(--kernel-json "$WORK/kernel_bench.json")
  [[ "$QUICK" == 1 ]] && args+=(--quick)
  step cuda-speed 420 "$NODE" "$DEVDIR/cuda-speed.mjs" "${args[@]}"
}

stage_hf() {
  [[ -n "$PY" ]] || { skip hf "no python3"; return; }
  if ! synth_done; then
    step synth-wait-hf "$((${QB_SYNTH_WAIT:-420} + 30))" wait_synth || { skip hf "no qwen3-4b checkpoint"; return; }
  fi
  local args=(speed --checkpoint "$SYNTH_DIR" --out "$WORK/hf_peer.json")
  [[ "$QUICK" == 1 ]] && args+=(--quick)
  step hf-peer 420 "$PY" "$PKG/device/hf_peer.py" "${args[@]}"
}

# ---- summary --------------------------------------------------------------------------------------------------------

summary() {
  echo "quantbench CUDA device run, $(date -u +%FT%TZ), $(elapsed)s, stages: ${STAGES[*]}"
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | sed 's/^/gpu: /'
  echo
  column -t -s $'\t' "$STEPS" 2>/dev/null || cat "$STEPS"
  if [[ -f "$WORK/kernel_bench.json" && -n "$PY" ]]; then
    echo
    "$PY" - "$WORK/kernel_bench.json" <<'EOF' 2>/dev/null
import json, sys
d = json.load(open(sys.argv[1]))
print(f"copy bandwidth {d['copyGBps']:.0f} GB/s; matmuls (median us / GB/s / % of copy / TFLOP/s):")
for r in d["results"]:
    if r["rows"] in (1, 2048) and r["shape"] in ("gate_proj", "down_proj", "lm_head"):
        if r["ok"]:
            print(f"  {r['kernel']:28s} {r['mode']:6s} {r['shape']:9s} rows {r['rows']:5d} {r['medianUs']:9.1f} {r['gbps']:7.0f} {100*r['fractionOfCopy']:5.1f}% {r['tflops']:7.1f}")
        else:
            print(f"  {r['kernel']:28s} {r['mode']:6s} {r['shape']:9s} rows {r['rows']:5d} FAILED {r.get('note','')[:60]}")
EOF
  fi
  if [[ -f "$WORK/parity.json" && -n "$PY" ]]; then
    echo
    "$PY" - "$WORK/parity.json" <<'EOF' 2>/dev/null
import json, sys
for c in json.load(open(sys.argv[1]))["cases"]:
    r = c.get("result")
    if r:
        print(f"parity {c['kernel']:6s} {c['case']:28s} relL2 {r.get('relativeL2', float('nan')):.2e} top1 {r.get('top1Agreement', 0):.3f} maxAbs {r.get('maxAbsDiff', float('nan')):.2e}")
    else:
        print(f"parity {c['kernel']:6s} {c['case']:28s} identical={c.get('identical')}")
EOF
  fi
  [[ -f "$LOGS/cuda-speed.log" ]] && { echo; grep -E '^(bf16|w8a16|w8a8) ' "$LOGS/cuda-speed.log" | sed 's/^/cuda /'; }
  [[ -f "$LOGS/hf-peer.log" ]] && { echo; grep -E '^hf ' "$LOGS/hf-peer.log"; }
  [[ -f "$LOGS/synth-qwen3-4b.log" ]] && { echo; echo "synth qwen3-4b: $(tail -n 1 "$LOGS/synth-qwen3-4b.log")"; }
}

# ---- main -----------------------------------------------------------------------------------------------------------

STAGES=("$@")
[[ ${#STAGES[@]} -eq 0 ]] && STAGES=(all)
expanded=()
for s in "${STAGES[@]}"; do
  case $s in
    all) expanded+=(synth env build tests sanitize bench parity speed hf) ;;
    kernels) expanded+=(synth env build tests sanitize bench) ;;
    e2e) expanded+=(synth env build parity speed hf) ;;
    synth | env | build | tests | sanitize | bench | parity | speed | hf) expanded+=("$s") ;;
    -h | --help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown stage '$s' (all kernels e2e synth env build tests sanitize bench parity speed hf)" >&2; exit 2 ;;
  esac
done
unpack_device
for s in "${expanded[@]}"; do
  "stage_$s"
done
collect
echo
echo "=================================================================== summary"
cat "$OUT/summary.txt"
ls -la "$OUT"
