//! `AttuneSdk`: one page's engine, with its storage, flush timer and page-exit handlers.
//!
//! The wrapper (`@attune/sdk`) owns the idiomatic API; this class takes and returns plain values
//! and never decides anything the core could decide.

use crate::browser::{now, random_seed, signals, Timer};
use crate::errors::{from_config, from_core, from_warning, js_error};
use crate::storage::{Fallback, Store};
use crate::transport::{beacon, post};
use attune_core::config::ValidConfig;
use attune_core::consent::{ChoiceSource, Decision};
use attune_core::egress::{classify_status, next_send_delay, Delivery, MAX_BATCH_BYTES, MAX_BEACON_BYTES};
use attune_core::engine::{validate_endpoint, Engine};
use attune_core::snapshot::CONSENT_KEY;
use serde::Serialize;
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

struct Inner {
    engine: Engine,
    store: Store,
    endpoint: String,
    on_warning: Option<js_sys::Function>,
    timer: Option<Timer>,
    failures: u32,
    tick: Option<Closure<dyn FnMut()>>,
    page_exit: Option<Closure<dyn FnMut(web_sys::Event)>>,
}

impl Inner {
    fn warn(&self, warning: JsValue) {
        match &self.on_warning {
            Some(callback) => {
                // A throwing callback must not break the SDK.
                let _ = callback.call1(&JsValue::NULL, &warning);
            }
            None => web_sys::console::warn_1(&warning),
        }
    }

    fn persist_consent(&mut self) {
        if let Some(snapshot) = self.engine.consent_snapshot() {
            if let Some(Fallback(why)) = self.store.set(CONSENT_KEY.name, &snapshot) {
                self.warn(js_error("storage_unavailable", &format!("{why}; keeping state in memory"), None));
            }
        }
    }
}

/// The browser half of Attune. Created by `Attune.init`; not meant to be used directly.
#[wasm_bindgen]
pub struct AttuneSdk {
    inner: Rc<RefCell<Inner>>,
}

fn to_js<T: Serialize>(value: &T) -> JsValue {
    let json = serde_json::to_string(value).expect("core views always serialize");
    js_sys::JSON::parse(&json).expect("serde_json output is valid JSON")
}

fn choice_source(source: &str) -> Result<ChoiceSource, JsValue> {
    match source {
        "banner" => Ok(ChoiceSource::Banner),
        "api" => Ok(ChoiceSource::Api),
        other => {
            Err(js_error("invalid_source", &format!("expected \"banner\" or \"api\", found {other:?}"), Some("source")))
        }
    }
}

#[wasm_bindgen]
impl AttuneSdk {
    /// ```ts
    /// const sdk = new AttuneSdk("demo-shop", "/v1/batch", JSON.stringify(config), "local", console.warn);
    /// ```
    /// Throws an `AttuneError` (`code: "invalid_config"`, `field`, `issues`) for a bad config.
    #[wasm_bindgen(constructor)]
    pub fn new(
        site_id: &str,
        endpoint: &str,
        config_json: &str,
        storage: &str,
        on_warning: Option<js_sys::Function>,
    ) -> Result<AttuneSdk, JsValue> {
        validate_endpoint(endpoint).map_err(|e| from_config(&e))?;
        let config = ValidConfig::from_json(config_json).map_err(|e| from_config(&e))?;
        let mut pending_warnings = Vec::new();
        let store = match storage {
            "memory" => Store::memory(),
            "local" => Store::local().unwrap_or_else(|(memory, Fallback(why))| {
                pending_warnings.push(js_error(
                    "storage_unavailable",
                    &format!("{why}; keeping state in memory"),
                    None,
                ));
                memory
            }),
            other => {
                return Err(js_error(
                    "invalid_option",
                    &format!("expected \"local\" or \"memory\", found {other:?}"),
                    Some("storage"),
                ))
            }
        };
        let stored = store.get(CONSENT_KEY.name);
        let (engine, warnings) = Engine::start(config, site_id, stored.as_deref(), signals(), random_seed()?)
            .map_err(|e| from_config(&e))?;
        pending_warnings.extend(warnings.iter().map(from_warning));

        let inner = Rc::new(RefCell::new(Inner {
            engine,
            store,
            endpoint: endpoint.to_owned(),
            on_warning,
            timer: None,
            failures: 0,
            tick: None,
            page_exit: None,
        }));
        install_handlers(&inner);
        let sdk = AttuneSdk { inner };
        for warning in pending_warnings {
            sdk.inner.borrow().warn(warning);
        }
        Ok(sdk)
    }

    /// The consent state (`ConsentView`).
    pub fn consent(&self) -> JsValue {
        to_js(&self.inner.borrow().engine.consent(now()))
    }

    /// Banner text from the config (`BannerText`).
    #[wasm_bindgen(js_name = bannerText)]
    pub fn banner_text(&self) -> JsValue {
        to_js(&self.inner.borrow().engine.config().banner)
    }

    /// Records choices; `true` if the consent record changed.
    pub fn grant(&self, purposes: Vec<String>, source: &str) -> Result<bool, JsValue> {
        self.record(purposes, Decision::Granted, source)
    }

    pub fn deny(&self, purposes: Vec<String>, source: &str) -> Result<bool, JsValue> {
        self.record(purposes, Decision::Denied, source)
    }

    pub fn withdraw(&self, purposes: Vec<String>, source: &str) -> Result<bool, JsValue> {
        self.record(purposes, Decision::Withdrawn, source)
    }

    /// One choice per purpose in a single record entry (the banner's "Save"):
    /// `granted` lists the purposes to grant, every other listed purpose in `denied` is denied.
    pub fn choose(&self, granted: Vec<String>, denied: Vec<String>, source: &str) -> Result<bool, JsValue> {
        let choices: Vec<(String, Decision)> = granted
            .into_iter()
            .map(|p| (p, Decision::Granted))
            .chain(denied.into_iter().map(|p| (p, Decision::Denied)))
            .collect();
        self.apply(|engine, now, source| engine.record(&choices, source, now), source)
    }

    #[wasm_bindgen(js_name = acceptAll)]
    pub fn accept_all(&self, source: &str) -> Result<bool, JsValue> {
        self.apply(|engine, now, source| engine.accept_all(source, now), source)
    }

    #[wasm_bindgen(js_name = rejectAll)]
    pub fn reject_all(&self, source: &str) -> Result<bool, JsValue> {
        self.apply(|engine, now, source| engine.reject_all(source, now), source)
    }

    fn record(&self, purposes: Vec<String>, decision: Decision, source: &str) -> Result<bool, JsValue> {
        let choices: Vec<(String, Decision)> = purposes.into_iter().map(|p| (p, decision)).collect();
        self.apply(|engine, now, source| engine.record(&choices, source, now), source)
    }

    fn apply(
        &self,
        change: impl FnOnce(&mut Engine, attune_core::Millis, ChoiceSource) -> Result<bool, attune_core::ConsentError>,
        source: &str,
    ) -> Result<bool, JsValue> {
        let source = choice_source(source)?;
        let changed = {
            let mut inner = self.inner.borrow_mut();
            let changed = change(&mut inner.engine, now(), source).map_err(|e| from_core(&e))?;
            if changed {
                inner.persist_consent();
            }
            changed
        };
        if changed {
            schedule_flush(&self.inner);
        }
        Ok(changed)
    }

    /// Captures an event; returns its id. Throws an `AttuneError` for an unknown purpose, a bad
    /// name, props that are not a plain JSON object, or an event over 32 KiB.
    pub fn track(&self, name: &str, props: JsValue, purpose: &str) -> Result<String, JsValue> {
        let props = if props.is_undefined() || props.is_null() {
            serde_json::Value::Null
        } else {
            let json = js_sys::JSON::stringify(&props)
                .ok()
                .and_then(|s| s.as_string())
                .ok_or_else(|| js_error("invalid_props", "event props cannot be turned into JSON", Some("props")))?;
            serde_json::from_str(&json).map_err(|e| js_error("invalid_props", &e.to_string(), Some("props")))?
        };
        let (id, _) = self.inner.borrow_mut().engine.track(name, props, purpose, now()).map_err(|e| from_core(&e))?;
        schedule_flush(&self.inner);
        Ok(id)
    }

    /// Sends everything that may leave now. Resolves when the collector has answered.
    pub fn flush(&self) -> js_sys::Promise {
        let inner = Rc::downgrade(&self.inner);
        wasm_bindgen_futures::future_to_promise(async move {
            flush(inner).await;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The consent record as a receipt the visitor can keep (`ConsentReceipt`).
    pub fn receipt(&self) -> JsValue {
        to_js(&self.inner.borrow().engine.receipt(now()))
    }

    /// Google Consent Mode v2 state, e.g. `{ ad_storage: "denied", analytics_storage: "granted", … }`.
    #[wasm_bindgen(js_name = googleConsentMode)]
    pub fn google_consent_mode(&self) -> JsValue {
        to_js(&self.inner.borrow().engine.google_consent_mode(now()))
    }

    /// Events waiting: `[undecided, queued, inFlight]`.
    pub fn pending(&self) -> Vec<u32> {
        let (a, b, c) = self.inner.borrow().engine.pending();
        vec![a as u32, b as u32, c as u32]
    }

    /// Whether state lives in memory only (storage unavailable or not wanted).
    #[wasm_bindgen(js_name = memoryOnly)]
    pub fn memory_only(&self) -> bool {
        self.inner.borrow().store.is_memory()
    }

    /// Stops timers and page-exit handlers. The instance sends nothing afterwards.
    pub fn destroy(&self) {
        let mut inner = self.inner.borrow_mut();
        if let Some(timer) = inner.timer.take() {
            timer.cancel();
        }
        if let Some(window) = web_sys::window() {
            if let Some(handler) = inner.page_exit.take() {
                let f = handler.as_ref().unchecked_ref();
                let _ = window.remove_event_listener_with_callback("pagehide", f);
                if let Some(doc) = window.document() {
                    let _ = doc.remove_event_listener_with_callback("visibilitychange", f);
                }
            }
        }
        inner.tick = None;
        inner.endpoint.clear();
    }
}

/// Registers the flush timer callback and the page-exit handler, both holding only a weak
/// reference so a destroyed SDK is not kept alive.
fn install_handlers(inner: &Rc<RefCell<Inner>>) {
    let weak = Rc::downgrade(inner);
    let tick = Closure::<dyn FnMut()>::new(move || {
        if let Some(inner) = weak.upgrade() {
            inner.borrow_mut().timer = None;
            wasm_bindgen_futures::spawn_local(flush(Rc::downgrade(&inner)));
        }
    });
    let weak = Rc::downgrade(inner);
    let page_exit = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
        let hidden = web_sys::window()
            .and_then(|w| w.document())
            .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Hidden);
        if event.type_() == "pagehide" || hidden {
            if let Some(inner) = weak.upgrade() {
                flush_with_beacon(&inner);
            }
        }
    });
    if let Some(window) = web_sys::window() {
        let f = page_exit.as_ref().unchecked_ref();
        let _ = window.add_event_listener_with_callback("pagehide", f);
        if let Some(doc) = window.document() {
            let _ = doc.add_event_listener_with_callback("visibilitychange", f);
        }
    }
    let mut inner = inner.borrow_mut();
    inner.tick = Some(tick);
    inner.page_exit = Some(page_exit);
}

/// Arms the flush timer if events are waiting and it is not armed yet.
fn schedule_flush(inner: &Rc<RefCell<Inner>>) {
    let mut state = inner.borrow_mut();
    let (_, queued, _) = state.engine.pending();
    if queued == 0 || state.timer.is_some() || state.endpoint.is_empty() {
        return;
    }
    let interval = state.engine.config().egress.flush_interval_ms;
    let delay = next_send_delay(interval, state.failures);
    let Some(tick) = state.tick.as_ref() else { return };
    let timer = Timer::start(tick.as_ref().unchecked_ref(), delay);
    state.timer = Some(timer);
}

async fn flush(weak: Weak<RefCell<Inner>>) {
    loop {
        let Some(inner) = weak.upgrade() else { return };
        let (batch, endpoint) = {
            let mut state = inner.borrow_mut();
            if state.endpoint.is_empty() {
                return;
            }
            (state.engine.take_batch(now(), MAX_BATCH_BYTES), state.endpoint.clone())
        };
        let Some(batch) = batch else { return };
        drop(inner); // no borrow or strong reference is held across the network wait
        let status = post(&endpoint, &batch.body).await;
        let Some(inner) = weak.upgrade() else { return };
        let outcome = classify_status(status);
        {
            let mut state = inner.borrow_mut();
            match outcome {
                Delivery::Delivered => {
                    state.engine.ack(batch.id);
                    state.failures = 0;
                }
                Delivery::Rejected => {
                    state.engine.ack(batch.id);
                    let message = format!("the collector refused a batch of {} events (HTTP {status:?})", batch.events);
                    state.warn(js_error("batch_rejected", &message, None));
                }
                Delivery::Retry => {
                    state.engine.fail(batch.id);
                    state.failures = state.failures.saturating_add(1);
                }
            }
        }
        if outcome == Delivery::Retry {
            schedule_flush(&inner);
            return;
        }
    }
}

/// The page is going away: hand what may leave to `sendBeacon`, in batches of ≤ 64 KB.
fn flush_with_beacon(inner: &Rc<RefCell<Inner>>) {
    let mut state = inner.borrow_mut();
    if state.endpoint.is_empty() {
        return;
    }
    let endpoint = state.endpoint.clone();
    while let Some(batch) = state.engine.take_batch(now(), MAX_BEACON_BYTES) {
        if beacon(&endpoint, &batch.body) {
            state.engine.ack(batch.id);
        } else {
            state.engine.fail(batch.id);
            break;
        }
    }
}
