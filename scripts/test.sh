#!/usr/bin/env bash
# Sets up and runs every check and test: lint gates, Rust (host + wasm in Chromium), TypeScript,
# the size budget, and end-to-end tests of the demo + collector in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
section() { printf '\n======== %s\n' "$*"; }

section "lint: rustfmt, clippy (host and wasm32)"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo clippy --target wasm32-unknown-unknown -p attune-wasm --all-targets --quiet -- -D warnings
cargo clippy --target wasm32-unknown-unknown -p attune-core --lib --quiet -- -D warnings

section "generated TypeScript types and JSON Schema match the Rust code"
scripts/gen-types.sh
generated=(js-wrapper/src/generated js-wrapper/schema)
if ! git diff --quiet -- "${generated[@]}" || [ -n "$(git ls-files --others --exclude-standard "${generated[@]}")" ]; then
  git status --short -- "${generated[@]}"
  echo "${generated[*]} are stale: run scripts/gen-types.sh and commit the result" >&2
  exit 1
fi

section "Rust tests (core, collector)"
cargo test --workspace --exclude attune-wasm --quiet

section "recommendation quality on MovieLens 100K (fetched from PyPI, cached; fails unless Attune beats item-kNN)"
scripts/eval-recs.sh

section "wasm tests in headless Chromium"
# chromedriver leaves a browser profile per run in TMPDIR: keep it in the scratch dir.
(cd sdk-wasm && TMPDIR="$scratch" cargo test --target wasm32-unknown-unknown)

section "build the SDK (sizes and budget)"
scripts/build-sdk.sh

section "TypeScript: tsc --noEmit and the wrapper's test suite (against the real wasm)"
(cd js-wrapper && npx --no-install tsc --noEmit -p tsconfig.json && npx --no-install vitest run)

section "demo build and end-to-end tests in headless Chromium"
scripts/build-demo.sh
cargo build -p attune-collector --quiet
(cd tests && TMPDIR="$scratch" npm test)
