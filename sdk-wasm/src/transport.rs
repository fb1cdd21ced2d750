//! Sending a batch: `fetch` while the page lives (cancellable, with a time limit), `sendBeacon`
//! while it goes away.

use crate::browser::{is_online, Timer};
use attune_core::engine::SendResult;
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, RequestCredentials, RequestInit, Response};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_name = fetch)]
    fn global_fetch(input: &str, init: &RequestInit) -> Result<Promise, JsValue>;
}

/// A request gives up after this long (a hung request must not hold the flush lock forever).
pub const REQUEST_TIMEOUT_MS: u32 = 30_000;

/// A request on its way, cancellable when consent is withdrawn.
pub struct InFlight {
    pub batch: u64,
    pub controller: Option<AbortController>,
}

/// POSTs `body` and reports how it ended. `controller` aborts it; the time limit counts as a
/// network error.
pub async fn post(endpoint: &str, body: &str, controller: Option<&AbortController>) -> SendResult {
    let network_error = || SendResult::NetworkError { online: is_online() };
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(body));
    init.set_credentials(RequestCredentials::Omit);
    // keepalive lets the request finish if the page is closed meanwhile (bodies ≤ 64 KiB);
    // web-sys has no setter for it yet.
    let keepalive = body.len() <= attune_core::egress::MAX_BEACON_BYTES;
    let _ = Reflect::set(&init, &"keepalive".into(), &keepalive.into());
    let Ok(headers) = web_sys::Headers::new() else { return network_error() };
    let _ = headers.set("Content-Type", "application/json");
    init.set_headers(&headers);
    if let Some(controller) = controller {
        init.set_signal(Some(&controller.signal()));
    }
    // The closure lives until the request ends, then is dropped with the cancelled timer.
    let timeout = controller.map(|c| {
        let c = c.clone();
        let abort = Closure::once(move || {
            let _ = Reflect::set(&c, &"attuneTimedOut".into(), &true.into());
            c.abort();
        });
        let timer = Timer::start(abort.as_ref().unchecked_ref::<Function>(), REQUEST_TIMEOUT_MS);
        (timer, abort)
    });
    // `fetch` can throw synchronously (no fetch at all, a URL it cannot parse): no response.
    let result = match global_fetch(endpoint, &init) {
        Ok(promise) => JsFuture::from(promise).await,
        Err(e) => Err(e),
    };
    if let Some((timer, _abort)) = timeout {
        timer.cancel();
    }
    match result {
        Ok(response) => match response.dyn_into::<Response>() {
            Ok(r) => SendResult::Status { code: r.status(), retry_after_ms: retry_after(&r) },
            Err(_) => network_error(),
        },
        Err(_) if controller.is_some_and(|c| c.signal().aborted() && !timed_out(c)) => SendResult::Aborted,
        Err(_) => network_error(),
    }
}

fn timed_out(controller: &AbortController) -> bool {
    Reflect::get(controller, &"attuneTimedOut".into()).ok().and_then(|v| v.as_bool()) == Some(true)
}

/// `Retry-After` as milliseconds: delay-seconds or an HTTP date.
fn retry_after(response: &Response) -> Option<u32> {
    let value = response.headers().get("Retry-After").ok()??;
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u32>() {
        return Some(seconds.saturating_mul(1000));
    }
    let at = js_sys::Date::parse(value);
    (at.is_finite()).then(|| (at - js_sys::Date::now()).clamp(0.0, f64::from(u32::MAX)) as u32)
}

/// POSTs a rights request and reads the answer: `(status, body)`, or `None` when no answer came
/// (network error, or none within the time limit). No cookies, no referrer.
pub async fn post_for_text(url: &str, body: &str) -> Option<(u16, String)> {
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(body));
    init.set_credentials(RequestCredentials::Omit);
    init.set_referrer_policy(web_sys::ReferrerPolicy::NoReferrer);
    let headers = web_sys::Headers::new().ok()?;
    let _ = headers.set("Content-Type", "application/json");
    init.set_headers(&headers);
    let controller = AbortController::new().ok()?;
    init.set_signal(Some(&controller.signal()));
    let abort = Closure::once({
        let c = controller.clone();
        move || c.abort()
    });
    let timer = Timer::start(abort.as_ref().unchecked_ref::<Function>(), REQUEST_TIMEOUT_MS);
    let answer = async {
        let response: Response = JsFuture::from(global_fetch(url, &init).ok()?).await.ok()?.dyn_into().ok()?;
        let text = JsFuture::from(response.text().ok()?).await.ok()?.as_string()?;
        Some((response.status(), text))
    }
    .await;
    timer.cancel();
    answer
}

/// Hands `body` to the browser to deliver after the page is gone. `false` if it refused.
pub fn beacon(endpoint: &str, body: &str) -> bool {
    web_sys::window().and_then(|w| w.navigator().send_beacon_with_opt_str(endpoint, Some(body)).ok()).unwrap_or(false)
}
