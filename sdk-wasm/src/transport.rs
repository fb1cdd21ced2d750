//! Sending a batch: `fetch` while the page lives, `sendBeacon` while it goes away.

use js_sys::{Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestCredentials, RequestInit, Response};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_name = fetch)]
    fn global_fetch(input: &str, init: &RequestInit) -> Result<Promise, JsValue>;
}

/// POSTs `body`; `Some(status)` if the collector answered, `None` on a network failure.
pub async fn post(endpoint: &str, body: &str) -> Option<u16> {
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(body));
    init.set_credentials(RequestCredentials::Omit);
    // keepalive lets the request finish if the page is closed meanwhile (bodies ≤ 64 KiB);
    // web-sys has no setter for it yet.
    let keepalive = body.len() <= attune_core::egress::MAX_BEACON_BYTES;
    Reflect::set(&init, &"keepalive".into(), &keepalive.into()).ok()?;
    let headers = web_sys::Headers::new().ok()?;
    headers.set("Content-Type", "application/json").ok()?;
    init.set_headers(&headers);
    // `fetch` can throw synchronously (no fetch at all, a URL it cannot parse): no response.
    let response = JsFuture::from(global_fetch(endpoint, &init).ok()?).await.ok()?;
    response.dyn_into::<Response>().ok().map(|r| r.status())
}

/// Hands `body` to the browser to deliver after the page is gone. `false` if it refused.
pub fn beacon(endpoint: &str, body: &str) -> bool {
    web_sys::window().and_then(|w| w.navigator().send_beacon_with_opt_str(endpoint, Some(body)).ok()).unwrap_or(false)
}
