//! Free functions for marketer tooling (the `attune validate` command and the demo's config
//! editor): the same checks the core runs, without an `AttuneSdk`.

use crate::sdk::to_js;
use attune_core::config::FieldIssue;
use attune_core::config::ValidConfig;
use attune_core::profiling::config::ProfilingConfig;
use attune_core::PurposeId;
use serde::Serialize;
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
    to_js(&issues)
}

/// The prompt config and site config, checked: every problem as `(path, message)` (site config
/// paths start with `site.`).
fn editor_configs(
    prompts_json: &str,
    site_config_json: &str,
) -> Result<(ProfilingConfig, ValidConfig), Vec<(String, String)>> {
    let site = ValidConfig::from_json(site_config_json)
        .map_err(|e| e.issues().iter().map(|i| (format!("site.{}", i.path), i.message.clone())).collect::<Vec<_>>())?;
    let ids: Vec<_> = site.purposes.iter().map(|p| p.id.clone()).collect();
    let config = ProfilingConfig::from_json(prompts_json, &ids)?;
    Ok((config, site))
}

#[derive(Serialize)]
struct EditorOutcome<T> {
    issues: Vec<FieldIssue>,
    result: Option<T>,
}

fn editor_outcome<T: Serialize>(outcome: Result<T, Vec<(String, String)>>) -> JsValue {
    match outcome {
        Ok(result) => to_js(&EditorOutcome { issues: Vec::new(), result: Some(result) }),
        Err(problems) => {
            let issues = problems.into_iter().map(|(path, message)| FieldIssue { path, message });
            to_js(&EditorOutcome::<T> { issues: issues.collect(), result: None })
        }
    }
}

/// "Simulate a visitor" for the config editor: `{ issues, result }` — every problem in the
/// prompt config, the site config (`site.…`) or the scenario (`scenario.…`), else the
/// scheduler's `NextPrompt` for the described visitor at `now` (ms since the epoch).
#[wasm_bindgen(js_name = simulatePrompts)]
pub fn simulate_prompts(prompts_json: &str, site_config_json: &str, scenario_json: &str, now: f64) -> JsValue {
    editor_outcome(editor_configs(prompts_json, site_config_json).and_then(|(config, site)| {
        let scenario: serde_json::Value =
            serde_json::from_str(scenario_json).map_err(|e| vec![("scenario".to_owned(), e.to_string())])?;
        let labels: Vec<_> = site.purposes.iter().map(|p| (p.id.clone(), p.label.clone())).collect();
        let now = attune_core::Millis(now.max(0.0) as u64);
        attune_core::profiling::simulate::simulate(&config, &scenario, &labels, now)
            .map_err(|problems| problems.into_iter().map(|(p, m)| (format!("scenario.{p}"), m)).collect())
    }))
}

/// Every question as visitors whose language is `language` will see it (`{ issues, result:
/// PromptView[] }`), for the config editor's preview.
#[wasm_bindgen(js_name = previewPrompts)]
pub fn preview_prompts(prompts_json: &str, site_config_json: &str, language: &str) -> JsValue {
    editor_outcome(editor_configs(prompts_json, site_config_json).map(|(config, site)| {
        let label = |p: &attune_core::PurposeId| {
            site.purposes.iter().find(|x| x.id == *p).map_or_else(|| p.to_string(), |x| x.label.clone())
        };
        let languages = [language.to_owned()];
        config.questions.iter().filter_map(|q| config.view(&q.id, &languages, &label)).collect::<Vec<_>>()
    }))
}
