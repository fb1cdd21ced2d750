//! Attune's browser bindings: a thin layer that performs the I/O `attune-core` decides on —
//! storage, network, timers and the browser's privacy signals — and nothing else.
//!
//! One module per exported class ([`sdk::AttuneSdk`]); errors are converted to JS once, in
//! [`errors`].

use wasm_bindgen::prelude::*;

pub mod browser;
pub mod delivery;
pub mod errors;
pub mod privacy;
pub mod recs;
pub mod sdk;
pub mod storage;
pub mod tools;
pub mod transport;

/// Runs when the module is instantiated: a panic must say what happened, not leave a dead module.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}
