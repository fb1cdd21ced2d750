#!/usr/bin/env bash
# Builds the npm package @attune/sdk: Rust → wasm → wasm-bindgen → wasm-opt → TypeScript → tarball.
# Prints raw/gzip/brotli sizes and fails if the shipped SDK outgrows size-budget.json.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

cargo build -p attune-wasm --target wasm32-unknown-unknown --profile wasm-release --quiet
rm -rf js-wrapper/wasm
wasm-bindgen --target web --out-dir js-wrapper/wasm --out-name attune_wasm \
  "${CARGO_TARGET_DIR:-target}"/wasm32-unknown-unknown/wasm-release/attune_wasm.wasm
# binaryen from npm (v132): Debian's v108 breaks wasm-bindgen's externref table.
(cd js-wrapper && npx --no-install wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-simd --enable-reference-types --enable-multivalue --enable-mutable-globals \
  wasm/attune_wasm_bg.wasm -o wasm/attune_wasm_bg.wasm)

# The shipped JavaScript without comments (they were a third of it, compressed); the .d.ts files
# keep them for editors.
(cd js-wrapper && rm -rf dist && npx --no-install tsc -p tsconfig.build.json --removeComments --declaration false \
  && npx --no-install tsc -p tsconfig.build.json --emitDeclarationOnly)
node scripts/size-report.mjs
(cd js-wrapper && rm -f attune-sdk-*.tgz && npm pack --silent >/dev/null && ls attune-sdk-*.tgz)
