#!/usr/bin/env bash
# Installs everything the build, demo and tests need; each step is skipped when already done.
# Safe to run again. Tools land in $ATTUNE_TOOLS (default ~/.cache/attune-tools), kept between runs.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

step() { printf '\n== %s\n' "$*"; }

step "Rust toolchain and wasm32 target"
rustup show active-toolchain >/dev/null 2>&1 || rustup toolchain install stable --profile minimal
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
rustup component list --installed | grep -q '^clippy' || rustup component add clippy rustfmt

step "wasm-bindgen CLI $WASM_BINDGEN_VERSION (project-local, cached in $ATTUNE_TOOLS)"
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  # --locked fails on this registry mirror (a pinned webpki-roots it does not serve): fall back.
  CARGO_INSTALL_ROOT="$ATTUNE_TOOLS" cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --locked \
    || CARGO_INSTALL_ROOT="$ATTUNE_TOOLS" cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi
wasm-bindgen --version

step "Chromium and ChromeDriver (Debian packages)"
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi
chromium --version

step "npm packages"
for dir in js-wrapper tests; do
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done
echo "setup done"
