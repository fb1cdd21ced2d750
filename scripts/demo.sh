#!/usr/bin/env bash
# Sets up, builds and runs the demo: shop + collector on http://127.0.0.1:${PORT:-8080}, SQLite in .tmp/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh
scripts/build-sdk.sh
scripts/build-demo.sh
cargo build --release -p attune-collector --quiet
mkdir -p .tmp
echo "Demo: open http://127.0.0.1:${PORT:-8080}/  (Ctrl-C to stop)"
exec target/release/attune-collector --static-dir demo-site/dist --db .tmp/demo.sqlite --port "${PORT:-8080}" \
  --site-config demo-site/src/attune-config.json
