//! `AttuneSdk`'s privacy-centre calls: what is held, the visitor's deletions, the device export,
//! clearing the device, the device key and the signed requests to the collector. Every rule is
//! the core's; this file reads and writes storage and does the one request.

use crate::browser::now;
use crate::delivery::sync;
use crate::errors::{from_core, js_error};
use crate::sdk::{to_js, AttuneSdk};
use crate::transport::post_for_text;
use attune_core::privacy::PrivacyError;
use attune_core::snapshot::{DEVICE_KEY, IDS_KEY};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

impl crate::delivery::Inner {
    /// Reads everything another tab may have changed, so the visitor sees what is stored now.
    fn refresh_all(&mut self) {
        self.load_shared();
        self.refresh_profile();
        self.refresh_recs();
    }
}

#[wasm_bindgen]
impl AttuneSdk {
    /// What the privacy centre shows that the core holds (`PrivacyData`), in the best of
    /// `languages`.
    #[wasm_bindgen(js_name = privacyData)]
    pub fn privacy_data(&self, languages: Vec<String>) -> JsValue {
        let mut state = self.inner.borrow_mut();
        state.refresh_all();
        to_js(&state.engine.privacy_data(&languages, now()))
    }

    /// Deletes one stored answer; `false` if there was none.
    #[wasm_bindgen(js_name = forgetAnswer)]
    pub fn forget_answer(&self, question: &str) -> bool {
        let mut state = self.inner.borrow_mut();
        state.refresh_profile();
        let gone = state.engine.forget_answer(question, now());
        state.persist_profile();
        gone
    }

    /// Forgets an inferred interest (the remembered items it comes from); `false` if none.
    #[wasm_bindgen(js_name = forgetInterest)]
    pub fn forget_interest(&self, tag: &str) -> bool {
        let mut state = self.inner.borrow_mut();
        state.refresh_recs();
        let gone = state.engine.forget_interest(tag, now());
        state.persist_recs();
        gone
    }

    /// The device export (`attune-export/1`), with every `attune:` key in storage as stored.
    #[wasm_bindgen(js_name = exportDevice)]
    pub fn export_device(&self, languages: Vec<String>) -> JsValue {
        let mut state = self.inner.borrow_mut();
        state.refresh_all();
        let stored = state.store.entries("attune:");
        to_js(&state.engine.export_device(&stored, &languages, now()))
    }

    /// Removes every Attune key from storage and forgets everything in this tab: the visitor is
    /// asked for consent again. A request on its way is cancelled.
    #[wasm_bindgen(js_name = clearDevice)]
    pub fn clear_device(&self) {
        let mut state = self.inner.borrow_mut();
        if let Some(in_flight) = state.in_flight.take() {
            if let Some(controller) = in_flight.controller {
                controller.abort();
            }
        }
        state.engine.clear_all(now());
        // Every key of the SDK starts with `attune:` (`STORED_KEYS`), including any an older or
        // newer SDK wrote.
        let keys: Vec<String> = state.store.entries("attune:").into_iter().map(|(k, _)| k).collect();
        for key in keys {
            state.store.remove(&key);
        }
        // Storage may have fallen back to memory (a full quota) after writing to localStorage:
        // removing needs no quota, so what was written there goes too.
        if let Some(local) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
            let stored: Vec<String> =
                (0..local.length().unwrap_or(0)).filter_map(|i| local.key(i).ok().flatten()).collect();
            for key in stored.iter().filter(|k| k.starts_with("attune:")) {
                let _ = local.remove_item(key);
            }
        }
        state.consent_seen = None;
        state.profile_seen = None;
        state.recs_seen = None;
    }

    /// Whether the browser should make a device key now (a purpose that sends data is granted
    /// and this device has none).
    #[wasm_bindgen(js_name = needsDeviceKey)]
    pub fn needs_device_key(&self) -> bool {
        let mut state = self.inner.borrow_mut();
        state.reload_consent_if_changed();
        state.load_device_key();
        state.engine.needs_device_key(now())
    }

    /// The key store lost the private half of `publicKey`: the key and its ids are dropped (from
    /// storage too) so a new key and new ids can be made. `false` if it is not the device's key.
    #[wasm_bindgen(js_name = retireDeviceKey)]
    pub fn retire_device_key(&self, public_key: &str) -> bool {
        let mut state = self.inner.borrow_mut();
        state.load_device_key();
        if !state.engine.retire_device_key(public_key, now()) {
            return false;
        }
        state.store.remove(DEVICE_KEY.name);
        let ids = state.engine.ids_snapshot();
        state.write(IDS_KEY.name, ids);
        true
    }

    /// The device key's public half (base64url), if this device has one.
    #[wasm_bindgen(js_name = devicePublicKey)]
    pub fn device_public_key(&self) -> Option<String> {
        let mut state = self.inner.borrow_mut();
        state.load_device_key();
        state.engine.device_key().map(|k| k.public_key.clone())
    }

    /// Takes the public half of the key the browser made (base64url of the raw point; the
    /// private half stays in the wrapper's key store) and stores it — unless another tab stored
    /// one first, or no purpose that sends data is granted any more: then `false`. Throws an
    /// `AttuneError` (`invalid_device_key`) for a key that does not check out.
    #[wasm_bindgen(js_name = setDeviceKey)]
    pub fn set_device_key(&self, public_key: &str) -> Result<bool, JsValue> {
        let mut state = self.inner.borrow_mut();
        state.reload_consent_if_changed();
        state.load_device_key();
        if !state.engine.needs_device_key(now()) {
            return Ok(false);
        }
        let stored = state.engine.set_device_key(public_key, now()).map_err(|e| from_core(&e))?;
        state.write(DEVICE_KEY.name, Some(stored));
        Ok(true)
    }

    /// Asks the collector for its copy (`"export"`) or to erase everything it holds for this
    /// device (`"erase"`). `sign(message, publicKey)` must resolve to the base64url ECDSA
    /// P-256/SHA-256 signature of `message` by the private half of `publicKey`. Resolves to the
    /// collector's export document or erasure receipt (checked); rejects with an `AttuneError` (`no_device_key`,
    /// `rights_refused`, `invalid_response`, `network_error`).
    pub fn rights(&self, action: String, sign: js_sys::Function) -> js_sys::Promise {
        let inner = Rc::downgrade(&self.inner);
        wasm_bindgen_futures::future_to_promise(async move {
            let gone = || js_error("destroyed", "the SDK was destroyed", None);
            let request = {
                let inner = inner.upgrade().ok_or_else(gone)?;
                let mut state = inner.borrow_mut();
                state.load_device_key();
                state.engine.rights_request(&action, now()).map_err(|e| from_core(&e))?
            };
            let message = JsValue::from_str(&request.message);
            let signed = sign.call2(&JsValue::NULL, &message, &JsValue::from_str(&request.public_key))?;
            let signature = JsFuture::from(js_sys::Promise::resolve(&signed)).await?.as_string().unwrap_or_default();
            let body = request.body(&signature).map_err(|e| from_core(&e))?;
            let (status, text) =
                post_for_text(&request.url, &body).await.ok_or_else(|| from_core(&PrivacyError::Network))?;
            let inner = inner.upgrade().ok_or_else(gone)?;
            let answer = {
                let mut state = inner.borrow_mut();
                state.load_device_key();
                let answer = state.engine.rights_answer(&request, status, &text, now()).map_err(|e| from_core(&e))?;
                if request.action == attune_core::privacy::RightsAction::Erase {
                    // The identity is retired: its key and ids go, its waiting events never leave.
                    state.store.remove(DEVICE_KEY.name);
                    let ids = state.engine.ids_snapshot();
                    state.write(IDS_KEY.name, ids);
                }
                to_js(&answer)
            };
            // The queue is rewritten under the flush lock (without the retired events).
            sync(Rc::downgrade(&inner), false).await;
            Ok(answer)
        })
    }
}
