//! `AttuneSdk`: one page's engine, with its storage, flush timer and page-exit handlers.
//!
//! The wrapper (`@attune/sdk`) owns the idiomatic API; this class takes and returns plain values
//! and never decides anything the core could decide.

use crate::browser::{now, random_seed, signals};
use crate::delivery::{flush_now, flush_with_beacon, schedule, sync, Inner};
use crate::errors::{from_config, from_core, from_warning, js_error};
use crate::storage::{Fallback, Store};
use attune_core::config::ValidConfig;
use attune_core::consent::{ChoiceSource, Decision};
use attune_core::engine::{Engine, Warning};
use attune_core::profiling::PromptError;
use attune_core::snapshot::{CONSENT_KEY, PROFILE_KEY};
use serde::Serialize;
use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// The browser half of Attune. Created by `Attune.init`; not meant to be used directly.
#[wasm_bindgen]
pub struct AttuneSdk {
    pub(crate) inner: Rc<RefCell<Inner>>,
}

pub(crate) fn to_js<T: Serialize>(value: &T) -> JsValue {
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
    /// const sdk = new AttuneSdk("demo-shop", "/v1/batch", JSON.stringify(config), "local", console.warn, onRemoteChange);
    /// ```
    /// Throws an `AttuneError` (`code: "invalid_config"`, `field`, `issues`) for a bad config.
    /// `onConsentChange` is called when another tab changed consent.
    #[wasm_bindgen(constructor)]
    pub fn new(
        site_id: &str,
        endpoint: &str,
        config_json: &str,
        storage: &str,
        on_warning: Option<js_sys::Function>,
        on_consent_change: Option<js_sys::Function>,
    ) -> Result<AttuneSdk, JsValue> {
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
        // Reported synchronously: nothing can call into this SDK before the constructor returns.
        let report = |warning: &JsValue| match &on_warning {
            Some(hook) => {
                let _ = hook.call1(&JsValue::NULL, warning);
            }
            None => web_sys::console::warn_1(warning),
        };
        let (engine, warnings) = Engine::start(config, site_id, endpoint, stored.as_deref(), signals(), random_seed()?)
            .map_err(|e| from_config(&e))?;
        for warning in pending_warnings.iter().chain(&warnings.iter().map(from_warning).collect::<Vec<_>>()) {
            report(warning);
        }

        let inner = Rc::new(RefCell::new(Inner {
            engine,
            store,
            endpoint: endpoint.to_owned(),
            lock_name: format!("attune:flush:{site_id}"),
            on_warning,
            on_consent_change,
            timer: None,
            in_flight: None,
            syncing: false,
            again: None,
            waiters: Vec::new(),
            waiting_online: false,
            next_delay: None,
            consent_seen: stored,
            profile_seen: None,
            recs_seen: None,
            reported: HashSet::new(),
            listeners: Vec::new(),
            tick: None,
        }));
        // Events an earlier page (or a tab that died) left behind join this page's queue.
        inner.borrow_mut().load_shared();
        // Egress-log entries past their retention were dropped on reading: drop them from storage.
        inner.borrow_mut().persist_egress_log();
        // Signals stored while personalization was granted; removed now if it no longer is.
        inner.borrow_mut().persist_recs();
        install_handlers(&inner);
        schedule(&inner);
        Ok(AttuneSdk { inner })
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
            // Build on the newest record: another tab may have changed it since this one looked.
            inner.reload_consent_if_changed();
            let changed = change(&mut inner.engine, now(), source).map_err(|e| from_core(&e))?;
            if changed {
                inner.persist_consent();
                inner.prune_profile();
                inner.persist_recs();
                // A withdrawal stops a request on its way now; the stored queue and ids are
                // purged by the cycle below, under the flush lock (an unlocked write could
                // overwrite another tab's and bring back events it already delivered).
                inner.abort_if_revoked();
            }
            changed
        };
        if changed {
            wasm_bindgen_futures::spawn_local(sync(Rc::downgrade(&self.inner), false));
        }
        Ok(changed)
    }

    /// Captures an event; returns its id. Throws an `AttuneError` for an unknown purpose, an
    /// event the config does not declare, a bad name, props that are not a plain JSON object, or
    /// an event over 32 KiB. Undeclared props are stripped and reported once to `onWarning`.
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
        let result = {
            let mut state = self.inner.borrow_mut();
            let result = state.engine.track(name, props, purpose, now()).map_err(|e| from_core(&e))?;
            if !state.engine.rec_config().events.is_empty() {
                // The event may have been a recommendation signal.
                state.persist_recs();
            }
            for prop in &result.stripped {
                let key = format!("{purpose}/{name}/{prop}");
                if state.reported.insert(key) {
                    let message = format!(
                        "prop {prop:?} of event {name:?} was not sent: declare it in collect.{purpose}.events.{name} \
                         (or its value did not fit the declared rule)"
                    );
                    state.warn(js_error("prop_stripped", &message, Some(&format!("props.{prop}"))));
                }
            }
            result
        };
        // Write the queue soon (without waiting for the next send) so a crash loses little.
        wasm_bindgen_futures::spawn_local(sync(Rc::downgrade(&self.inner), false));
        Ok(result.id)
    }

    /// Sends everything that may leave now. Resolves when the collector has answered.
    pub fn flush(&self) -> js_sys::Promise {
        let inner = Rc::downgrade(&self.inner);
        wasm_bindgen_futures::future_to_promise(async move {
            flush_now(inner).await;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Loads the marketer's prompt config and the visitor's stored profile. Throws an
    /// `AttuneError` (`code: "invalid_config"`, `issues`: every problem with its path).
    #[wasm_bindgen(js_name = setPrompts)]
    pub fn set_prompts(&self, config_json: &str) -> Result<(), JsValue> {
        let mut state = self.inner.borrow_mut();
        state.engine.set_prompts(config_json).map_err(|e| from_config(&e))?;
        let stored = state.store.get(PROFILE_KEY.name);
        let warnings = state.engine.load_profile(stored.as_deref(), now());
        state.warn_all(&warnings);
        state.profile_seen = stored;
        state.persist_profile();
        Ok(())
    }

    /// Counts a page view for the prompt triggers (only while a question's purpose is granted).
    #[wasm_bindgen(js_name = pageView)]
    pub fn page_view(&self) {
        let mut state = self.inner.borrow_mut();
        state.refresh_profile();
        state.engine.page_view(now());
        state.persist_profile();
    }

    /// The prompt to show now on the page at `path` (`NextPrompt`: `show`, `trace`, `prompt`).
    /// `interests` is an object of tag → weight; `languages` the visitor's, in order.
    #[wasm_bindgen(js_name = nextPrompt)]
    pub fn next_prompt(&self, path: &str, interests: JsValue, languages: Vec<String>) -> Result<JsValue, JsValue> {
        let interests: Vec<(String, f64)> = js_sys::Object::entries(&interests.unchecked_into())
            .iter()
            .filter_map(|pair| {
                let pair: js_sys::Array = pair.unchecked_into();
                Some((pair.get(0).as_string()?, pair.get(1).as_f64().filter(|w| w.is_finite())?))
            })
            .collect();
        let mut state = self.inner.borrow_mut();
        // Another tab may have shown, answered or skipped a prompt since this one looked.
        state.reload_consent_if_changed();
        state.refresh_profile();
        let next = state.engine.next_prompt_for(path, interests, &languages, now()).map_err(|e| from_core(&e))?;
        Ok(to_js(&next))
    }

    /// The page showed question `id` (counts towards fatigue; measured as `prompt_shown`).
    #[wasm_bindgen(js_name = promptShown)]
    pub fn prompt_shown(&self, id: &str) -> Result<(), JsValue> {
        self.prompt_call(|engine, now| engine.prompt_shown(id, now))
    }

    /// Stores the visitor's answer to `id`. Throws `invalid_answer` (with the reason),
    /// `purpose_not_granted` or `unknown_question`.
    #[wasm_bindgen(js_name = answerPrompt)]
    pub fn answer_prompt(&self, id: &str, value: JsValue) -> Result<(), JsValue> {
        let json = js_sys::JSON::stringify(&value).ok().and_then(|s| s.as_string()).unwrap_or_default();
        let value: serde_json::Value = serde_json::from_str(&json)
            .map_err(|_| js_error("invalid_answer", "the answer cannot be turned into JSON", Some("value")))?;
        self.prompt_call(|engine, now| engine.answer_prompt(id, &value, now))
    }

    /// The visitor skipped `id` (a dismissal: the question backs off).
    #[wasm_bindgen(js_name = dismissPrompt)]
    pub fn dismiss_prompt(&self, id: &str) -> Result<(), JsValue> {
        self.prompt_call(|engine, now| engine.dismiss_prompt(id, now))
    }

    fn prompt_call(
        &self,
        call: impl FnOnce(&mut Engine, attune_core::Millis) -> Result<Option<Warning>, PromptError>,
    ) -> Result<(), JsValue> {
        {
            let mut state = self.inner.borrow_mut();
            state.reload_consent_if_changed();
            state.refresh_profile();
            let warning = call(&mut state.engine, now()).map_err(|e| from_core(&e))?;
            if let Some(w) = warning {
                let key = format!("{}/{}", w.code, w.message);
                if state.reported.insert(key) {
                    state.warn(from_warning(&w));
                }
            }
            state.persist_profile();
        }
        wasm_bindgen_futures::spawn_local(sync(Rc::downgrade(&self.inner), false));
        Ok(())
    }

    /// The visitor's stored answers (`Answer[]`).
    pub fn answers(&self) -> JsValue {
        to_js(&self.inner.borrow().engine.answers())
    }

    /// Every field that can leave the device, by purpose, with destination and retention
    /// (`EgressManifest`).
    #[wasm_bindgen(js_name = egressManifest)]
    pub fn egress_manifest(&self) -> JsValue {
        to_js(&self.inner.borrow().engine.manifest())
    }

    /// The manifest as a Markdown table.
    #[wasm_bindgen(js_name = egressManifestTable)]
    pub fn egress_manifest_table(&self) -> String {
        self.inner.borrow().engine.manifest().to_markdown()
    }

    /// The last payloads that left the device, oldest first (`SentPayload[]`).
    #[wasm_bindgen(js_name = egressLog)]
    pub fn egress_log(&self) -> JsValue {
        let mut state = self.inner.borrow_mut();
        let stored = state.store.get(attune_core::snapshot::EGRESS_LOG_KEY.name);
        let warnings = state.engine.load_egress_log(stored.as_deref(), now());
        state.warn_all(&warnings);
        to_js(&state.engine.egress_log())
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
        for (target, event, handler) in inner.listeners.drain(..) {
            let _ = target.remove_event_listener_with_callback(event, handler.as_ref().unchecked_ref());
        }
        if let Some(in_flight) = inner.in_flight.take() {
            if let Some(controller) = in_flight.controller {
                controller.abort();
            }
        }
        inner.tick = None;
        inner.endpoint.clear();
        for resolve in std::mem::take(&mut inner.waiters) {
            let _ = resolve.call0(&JsValue::NULL);
        }
    }
}

/// Registers the flush timer callback and the browser events the SDK reacts to, all holding
/// only a weak reference so a destroyed SDK is not kept alive: page exit (beacon), `online`
/// (resume sending) and `storage` (consent changed in another tab).
fn install_handlers(inner: &Rc<RefCell<Inner>>) {
    let weak = Rc::downgrade(inner);
    let tick = Closure::<dyn FnMut()>::new(move || {
        if let Some(inner) = weak.upgrade() {
            inner.borrow_mut().timer = None;
            wasm_bindgen_futures::spawn_local(sync(Rc::downgrade(&inner), true));
        }
    });
    inner.borrow_mut().tick = Some(tick);
    let Some(window) = web_sys::window() else { return };

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
    let weak = Rc::downgrade(inner);
    let online = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        if let Some(inner) = weak.upgrade() {
            inner.borrow_mut().waiting_online = false;
            wasm_bindgen_futures::spawn_local(sync(Rc::downgrade(&inner), true));
        }
    });
    let weak = Rc::downgrade(inner);
    let storage = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
        let key = js_sys::Reflect::get(&event, &"key".into()).ok().and_then(|k| k.as_string());
        // `key` is null when another tab cleared the whole storage.
        if key.as_deref().is_none_or(|k| k == CONSENT_KEY.name) {
            if let Some(inner) = weak.upgrade() {
                let changed = inner.borrow_mut().reload_consent_if_changed();
                if changed {
                    // Purge what this tab stored for a withdrawn purpose, under the flush lock.
                    wasm_bindgen_futures::spawn_local(sync(Rc::downgrade(&inner), false));
                }
            }
        }
    });
    let weak = Rc::downgrade(inner);
    // Back from the back/forward cache: storage events were missed while the page was frozen
    // (a withdrawal, "Clear everything" and a new choice…), so read everything again.
    let pageshow = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
        let restored = js_sys::Reflect::get(&event, &"persisted".into()).ok().and_then(|p| p.as_bool());
        if restored == Some(true) {
            if let Some(inner) = weak.upgrade() {
                inner.borrow_mut().reload_consent_if_changed();
                wasm_bindgen_futures::spawn_local(sync(Rc::downgrade(&inner), false));
            }
        }
    });
    let mut state = inner.borrow_mut();
    let win: &web_sys::EventTarget = window.as_ref();
    let mut listen = |target: web_sys::EventTarget, event: &'static str, handler| {
        let _ = target.add_event_listener_with_callback(event, AsRef::<JsValue>::as_ref(&handler).unchecked_ref());
        state.listeners.push((target, event, handler));
    };
    if let Some(doc) = window.document() {
        let doc: web_sys::EventTarget = doc.into();
        // Both page-exit events share one handler; it is registered twice, removed twice.
        listen(
            doc,
            "visibilitychange",
            Closure::new({
                let pe = page_exit.as_ref().clone();
                move |e: web_sys::Event| {
                    let _ = pe.unchecked_ref::<js_sys::Function>().call1(&JsValue::NULL, &e);
                }
            }),
        );
    }
    listen(win.clone(), "pagehide", page_exit);
    listen(win.clone(), "online", online);
    listen(win.clone(), "storage", storage);
    listen(win.clone(), "pageshow", pageshow);
}
