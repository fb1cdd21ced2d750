#!/usr/bin/env bash
# Builds the demo shop from the *packed* SDK, installed the way a site would install it.
set -euo pipefail
cd "$(dirname "$0")/../demo-site"
[ -f ../js-wrapper/attune-sdk-0.1.0.tgz ] || { echo "build the SDK first: scripts/build-sdk.sh" >&2; exit 1; }
# Not `npm ci`: the lock records the checksum of the tarball it was made with, so after any SDK
# change `npm ci` fails (EINTEGRITY) on a cold cache or installs the stale cached SDK on a warm
# one. Installing the tarball explicitly unpacks the fresh build; the rest comes from the lock.
npm install --no-audit --no-fund --no-save --loglevel=error ../js-wrapper/attune-sdk-0.1.0.tgz
npx --no-install tsc --noEmit
npx --no-install vite build --logLevel warn
node scripts/write-manifest.mjs
