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
    #[wasm_bindgen(js_name = queueMicrotask)]
    fn queue_microtask(callback: &Function);
}

/// Calls `callback` once the current task's synchronous work is done.
pub fn soon(callback: &Function) {
    queue_microtask(callback);
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

/// `navigator.onLine`; true when unknown.
pub fn is_online() -> bool {
    global("navigator")
        .and_then(|n| Reflect::get(&n, &JsValue::from_str("onLine")).ok())
        .and_then(|v| v.as_bool())
        .unwrap_or(true)
}

/// Runs `work` while holding the Web Lock `name` (one holder across every tab of the origin),
/// or directly where the Web Locks API is missing (old browsers, insecure origins, Node).
pub async fn with_lock<F>(name: &str, work: F)
where
    F: std::future::Future<Output = ()> + 'static,
{
    let locks =
        global("navigator").and_then(|n| Reflect::get(&n, &JsValue::from_str("locks")).ok()).filter(|l| l.is_object());
    let request = locks
        .as_ref()
        .and_then(|l| Reflect::get(l, &JsValue::from_str("request")).ok())
        .and_then(|f| f.dyn_into::<Function>().ok());
    let (Some(locks), Some(request)) = (locks, request) else {
        work.await;
        return;
    };
    let callback = Closure::once_into_js(move |_lock: JsValue| -> js_sys::Promise {
        wasm_bindgen_futures::future_to_promise(async move {
            work.await;
            Ok(JsValue::UNDEFINED)
        })
    });
    if let Ok(pending) = request.call2(&locks, &JsValue::from_str(name), &callback) {
        let _ = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(pending)).await;
    }
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
