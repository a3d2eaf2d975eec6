#!/usr/bin/env bash
# Installs everything quantbench needs on a fresh Debian machine that has Node.js 20+ and npm:
# - Debian's chromium (its SwiftShader Vulkan driver runs the WebGPU engine where there is no GPU, and it is the
#   browser for the WebGPU browser test) and libvulkan1 (the Vulkan loader Dawn needs);
# - bubblewrap, the sandbox that runs generated code in the LiveCodeBench evaluation;
# - cmake, which cmake-js drives to build the CUDA engine's addon with nvcc (where the CUDA toolkit is installed);
# - pnpm from the npm registry, then the workspace's packages from the lockfile.
# Safe to run again: what is already there is not installed twice.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(chromium libvulkan1 bubblewrap cmake)
missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${missing[*]} (apt-get)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: warning: ${missing[*]} not installed and this is not root with apt-get (without chromium the WebGPU engine needs a GPU, without bubblewrap code evaluation refuses to run, without cmake the CUDA addon is not built)" >&2
  fi
fi

PNPM_VERSION=$(node -p "require('./package.json').packageManager.split('@')[1]")
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version)" != "$PNPM_VERSION" ]; then
  echo "setup: installing pnpm@$PNPM_VERSION"
  npm install --global --no-fund --no-audit "pnpm@$PNPM_VERSION" >/dev/null
fi

export TURBO_TELEMETRY_DISABLED=1
pnpm install --frozen-lockfile --reporter=append-only
