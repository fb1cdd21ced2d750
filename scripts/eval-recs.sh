#!/usr/bin/env bash
# Evaluates the recommender on MovieLens 100K, leave-last-out (docs/recommendations-eval.md):
# popularity, item-kNN (cosine) and Attune through the core, on the same split. Prints the table
# and exits non-zero unless Attune's test HR@10 is above item-kNN's.
#
# The data set comes from the recbole wheel on PyPI (only the wheel is downloaded: recbole itself
# is never installed) and is cached in ${XDG_CACHE_HOME:-~/.cache}/attune-data/ml-100k, outside
# the repository: MovieLens is licensed for research only, without redistribution.
# Safe to run again: the download happens once.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

step() { printf '\n== %s\n' "$*"; }

RECBOLE_VERSION=1.2.1
RECBOLE_WHEEL_SHA256=9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407
data="${XDG_CACHE_HOME:-$HOME/.cache}/attune-data/ml-100k"
out="target/eval-recs"

# A pip that works: `python3 -m pip`, `pip3` or `pip`; Debian's python3-pip when there is none.
find_pip() {
  local candidate
  for candidate in "python3 -m pip" pip3 pip; do
    if $candidate --version >/dev/null 2>&1; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

step "MovieLens 100K (cached in $data)"
if [ -f "$data/ml-100k.inter" ] && [ -f "$data/ml-100k.item" ]; then
  echo "cached"
else
  if ! pip=$(find_pip); then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-pip >/dev/null
    pip=$(find_pip)
  fi
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  $pip download "recbole==$RECBOLE_VERSION" --no-deps --no-cache-dir --quiet -d "$scratch"
  wheel="$scratch/recbole-$RECBOLE_VERSION-py3-none-any.whl"
  echo "$RECBOLE_WHEEL_SHA256  $wheel" | sha256sum --check --quiet -
  # Extract the two files into a fresh directory, then move it into place in one step, so an
  # interrupted run never leaves a half-written cache behind.
  python3 - "$wheel" "$scratch/ml-100k" <<'PY'
import os, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
os.makedirs(dest)
with zipfile.ZipFile(wheel) as z:
    for name in ("ml-100k.inter", "ml-100k.item"):
        with z.open("recbole/dataset_example/ml-100k/" + name) as src, open(os.path.join(dest, name), "wb") as dst:
            dst.write(src.read())
PY
  mkdir -p "$(dirname "$data")"
  rm -rf "$data"
  mv "$scratch/ml-100k" "$data"
  echo "downloaded recbole $RECBOLE_VERSION (sha256 checked), extracted ml-100k"
fi

step "convert to an Attune catalogue and events log ($out)"
cargo build --release --quiet -p attune-tools
tools=target/release/attune-tools
"$tools" ml100k --dir "$data" --out "$out"

step "evaluate (knobs tuned on validation, then one test run)"
"$tools" eval --catalog "$out/catalog.json" --events "$out/events.csv" --k 10 \
  --json "$out/report.json" --require-attune-above-knn
