#!/usr/bin/env bash
# Builds the demo shop from the *packed* SDK, installed the way a site would install it.
set -euo pipefail
cd "$(dirname "$0")/../demo-site"
[ -f ../js-wrapper/attune-sdk-0.1.0.tgz ] || { echo "build the SDK first: scripts/build-sdk.sh" >&2; exit 1; }
npm ci --no-audit --no-fund --loglevel=error
# npm ci trusts its cache for a file: tarball with an unchanged integrity entry, which would
# install a stale SDK. Installing the tarball explicitly always unpacks the fresh build.
npm install --no-audit --no-fund --no-save --loglevel=error ../js-wrapper/attune-sdk-0.1.0.tgz
npx --no-install tsc --noEmit
npx --no-install vite build --logLevel warn
