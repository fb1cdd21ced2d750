//! What the core needs from the JS environment: the time, randomness, timers and privacy
//! signals. Everything goes through the global object, so the same module runs in a page, a
//! worker or Node (for the wrapper's test suite).

use crate::errors::js_error;
use attune_core::{Millis, Signals};
use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &Function, ms: i32) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);
}

pub fn now() -> Millis {
    Millis(js_sys::Date::now().max(0.0) as u64)
}

fn global(name: &str) -> Option<JsValue> {
    Reflect::get(&js_sys::global(), &JsValue::from_str(name)).ok().filter(|v| !v.is_undefined() && !v.is_null())
}

/// 32 bytes from `crypto.getRandomValues`; without it there are no safe ids, so no SDK.
pub fn random_seed() -> Result<[u8; 32], JsValue> {
    let missing = || js_error("no_crypto", "crypto.getRandomValues is not available", None);
    let crypto: web_sys::Crypto = global("crypto").ok_or_else(missing)?.unchecked_into();
    let mut seed = [0u8; 32];
    crypto.get_random_values_with_u8_array(&mut seed).map_err(|_| missing())?;
    Ok(seed)
}

/// `navigator.globalPrivacyControl` and Do Not Track (`navigator.doNotTrack` or the older
/// `window.doNotTrack`, "1" meaning on).
pub fn signals() -> Signals {
    let Some(navigator) = global("navigator") else { return Signals::default() };
    let get = |target: &JsValue, key: &str| Reflect::get(target, &JsValue::from_str(key)).ok();
    let gpc = get(&navigator, "globalPrivacyControl").and_then(|v| v.as_bool()) == Some(true);
    let is_on = |v: Option<JsValue>| v.and_then(|v| v.as_string()).is_some_and(|s| s == "1" || s == "yes");
    let dnt = is_on(get(&navigator, "doNotTrack")) || is_on(global("doNotTrack"));
    Signals { gpc, dnt }
}

/// A pending `setTimeout`, cancelled with [`Timer::cancel`].
pub struct Timer(JsValue);

impl Timer {
    pub fn start(callback: &Function, ms: u32) -> Timer {
        Timer(set_timeout(callback, ms.min(i32::MAX as u32) as i32))
    }

    pub fn cancel(self) {
        clear_timeout(&self.0);
    }
}
