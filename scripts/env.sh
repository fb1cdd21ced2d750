# Sourced by the other scripts: where the project's tools live.
export WASM_BINDGEN_VERSION=0.2.130
export ATTUNE_TOOLS="${ATTUNE_TOOLS:-$HOME/.cache/attune-tools}"
export PATH="$ATTUNE_TOOLS/bin:$HOME/.cargo/bin:$PATH"
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
