//! Free functions for marketer tooling (the `attune validate` command and the demo's config
//! editor): the same checks the core runs, without an `AttuneSdk`.

use attune_core::config::FieldIssue;
use attune_core::profiling::config::ProfilingConfig;
use attune_core::PurposeId;
use wasm_bindgen::prelude::*;

/// Checks a prompt config (JSON text) against the declared purposes and returns every problem,
/// each with its path (`FieldIssue[]`, empty when the config is valid). A purpose name that is not
/// a purpose id is reported at `purposes[i]`.
///
/// ```ts
/// validatePrompts('{"questions": []}', ['necessary', 'personalization']); // []
/// validatePrompts('{"questions": 1}', ['personalization']);
/// // [{ path: 'questions', message: 'expected an array of questions, found a number' }]
/// ```
#[wasm_bindgen(js_name = validatePrompts)]
pub fn validate_prompts(config_json: &str, purposes: Vec<String>) -> JsValue {
    let mut issues = Vec::new();
    let mut declared = Vec::new();
    for (i, name) in purposes.iter().enumerate() {
        match PurposeId::parse(name) {
            Ok(id) => declared.push(id),
            Err(e) => issues.push(FieldIssue { path: format!("purposes[{i}]"), message: e.to_string() }),
        }
    }
    if let Err(problems) = ProfilingConfig::from_json(config_json, &declared) {
        issues.extend(problems.into_iter().map(|(path, message)| FieldIssue { path, message }));
    }
    let json = serde_json::to_string(&issues).expect("issues serialize");
    js_sys::JSON::parse(&json).expect("serde_json output is valid JSON")
}
