//! `AttuneSdk`'s recommendation calls: the catalogue and its sidecar, signals, the visitor's
//! controls and rankings. Every rule is the core's; this file moves values and storage.

use crate::browser::now;
use crate::errors::{from_config, from_core, from_warning};
use crate::sdk::{to_js, AttuneSdk};
use attune_core::recommend::RankRequest;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
impl AttuneSdk {
    /// Loads the catalogue: JSON text or the binary form, as bytes. Returns
    /// `{kept, skipped, revision, warnings}`; each skipped item's problem also goes to
    /// `onWarning`. Throws an `AttuneError` when nothing can be read.
    #[wasm_bindgen(js_name = setCatalog)]
    pub fn set_catalog(&self, bytes: &[u8]) -> Result<JsValue, JsValue> {
        let mut state = self.inner.borrow_mut();
        let summary = state.engine.set_catalog(bytes).map_err(|e| from_core(&e))?;
        for w in &summary.warnings {
            state.warn(from_warning(w));
        }
        Ok(to_js(&summary))
    }

    /// Loads the neighbours sidecar (JSON) for the loaded catalogue.
    #[wasm_bindgen(js_name = setNeighbours)]
    pub fn set_neighbours(&self, json: &str) -> Result<JsValue, JsValue> {
        let mut state = self.inner.borrow_mut();
        let summary = state.engine.set_neighbours(json).map_err(|e| from_core(&e))?;
        for w in &summary.warnings {
            state.warn(from_warning(w));
        }
        Ok(to_js(&summary))
    }

    /// Loads the ranking config; throws an `AttuneError` (`invalid_config`, with `issues`).
    #[wasm_bindgen(js_name = setRecommendConfig)]
    pub fn set_recommend_config(&self, json: &str) -> Result<(), JsValue> {
        self.inner.borrow_mut().engine.set_rec_config(json).map_err(|e| from_config(&e))
    }

    /// Ranks for this visitor: `options` is the JSON of `{slot, k, context, exclude, tags,
    /// includeSeen, includeUnavailable}`. Returns `Recommendation[]`.
    pub fn recommend(&self, options_json: &str) -> Result<JsValue, JsValue> {
        let value: serde_json::Value = serde_json::from_str(options_json)
            .map_err(|e| crate::errors::js_error("invalid_input", &e.to_string(), Some("options")))?;
        let request = RankRequest::from_value(&value).map_err(|e| from_core(&e))?;
        let mut state = self.inner.borrow_mut();
        state.reload_consent_if_changed();
        state.refresh_recs();
        state.refresh_profile();
        let out = state.engine.recommend(&request, now()).map_err(|e| from_core(&e))?;
        Ok(to_js(&out))
    }

    /// Records a signal (`view`, `click`, `cart`, `purchase`, `dwell` with a ratio, `skip`,
    /// `notInterested`); returns whether it was recorded (only with personalization).
    #[wasm_bindgen(js_name = recordSignal)]
    pub fn record_signal(&self, item: &str, kind: &str, ratio: Option<f64>) -> Result<bool, JsValue> {
        self.signals_call(|engine, now| engine.record_signal(item, kind, ratio, now).map_err(|e| from_core(&e)))
    }

    #[wasm_bindgen(js_name = forgetItem)]
    pub fn forget_item(&self, item: &str) -> Result<(), JsValue> {
        self.signals_call(|engine, now| {
            engine.forget_item(item, now);
            Ok(())
        })
    }

    #[wasm_bindgen(js_name = muteTag)]
    pub fn mute_tag(&self, tag: &str) -> Result<bool, JsValue> {
        self.signals_call(|engine, now| Ok(engine.mute_tag(tag, now)))
    }

    #[wasm_bindgen(js_name = unmuteTag)]
    pub fn unmute_tag(&self, tag: &str) -> Result<(), JsValue> {
        self.signals_call(|engine, now| {
            engine.unmute_tag(tag, now);
            Ok(())
        })
    }

    #[wasm_bindgen(js_name = resetInterests)]
    pub fn reset_interests(&self) -> Result<(), JsValue> {
        self.signals_call(|engine, now| {
            engine.reset_interests(now);
            Ok(())
        })
    }

    /// The visitor's signals, muted tags and what they asked to forget
    /// (`{v, history, muted, mutes, forgotten, resetAt}`).
    #[wasm_bindgen(js_name = recommendationSignals)]
    pub fn recommendation_signals(&self) -> JsValue {
        let mut state = self.inner.borrow_mut();
        state.reload_consent_if_changed();
        state.refresh_recs();
        let raw = state.engine.rec_signals().encode();
        js_sys::JSON::parse(&raw).unwrap_or(JsValue::NULL)
    }

    /// For the benchmark: sums as many bytes as one ranking scans (the bandwidth floor), and
    /// returns how many bytes that is.
    #[wasm_bindgen(js_name = benchBandwidthProbe)]
    pub fn bench_bandwidth_probe(&self) -> Vec<u32> {
        let state = self.inner.borrow();
        let r = state.engine.recommender();
        vec![r.bandwidth_probe(), r.catalog.scanned_bytes() as u32]
    }

    fn signals_call<T>(
        &self,
        call: impl FnOnce(&mut attune_core::engine::Engine, attune_core::Millis) -> Result<T, JsValue>,
    ) -> Result<T, JsValue> {
        let mut state = self.inner.borrow_mut();
        state.reload_consent_if_changed();
        state.refresh_recs();
        let out = call(&mut state.engine, now())?;
        state.persist_recs();
        Ok(out)
    }
}
