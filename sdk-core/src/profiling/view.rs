//! A question as the visitor sees it: its texts in one language, with everything the "Why do we
//! ask?" disclosure shows.

use super::config::{Kind, ProfilingConfig, Question, Texts};
use super::scheduler::Decision;
use crate::purpose::PurposeId;
use serde::Serialize;

/// The scheduler's decision with the chosen question as the visitor will see it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub struct NextPrompt {
    #[serde(flatten)]
    #[cfg_attr(feature = "typescript", ts(flatten))]
    pub decision: Decision,
    pub prompt: Option<PromptView>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct PromptOption {
    pub id: String,
    pub label: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct PromptView {
    pub id: String,
    /// `single`, `multiple`, `scale`, `yesNo` or `text`.
    #[cfg_attr(feature = "typescript", ts(type = "'single' | 'multiple' | 'scale' | 'yesNo' | 'text'"))]
    pub kind: &'static str,
    /// The language the texts are in.
    pub language: String,
    pub text: String,
    pub options: Vec<PromptOption>,
    #[cfg_attr(feature = "typescript", ts(type = "number | null"))]
    pub min: Option<i64>,
    #[cfg_attr(feature = "typescript", ts(type = "number | null"))]
    pub max: Option<i64>,
    pub max_length: Option<u32>,
    pub why: String,
    pub used_for: String,
    /// The consent purpose the answer is kept under, and its label.
    pub purpose: String,
    pub purpose_label: String,
    pub retention_days: u32,
}

/// The best of the visitor's languages (in order of preference) the config has: an exact tag,
/// then the same primary language (`de-CH` → `de`), else the default language.
pub fn pick_language(available: &Texts, wanted: &[String], default_language: &str) -> String {
    let primary = |tag: &str| tag.split('-').next().unwrap_or(tag).to_ascii_lowercase();
    for want in wanted {
        if let Some(found) = available.keys().find(|k| k.eq_ignore_ascii_case(want)) {
            return found.clone();
        }
        if let Some(found) = available.keys().find(|k| primary(k) == primary(want)) {
            return found.clone();
        }
    }
    default_language.to_owned()
}

impl ProfilingConfig {
    /// Question `id` in the best of `languages` it has; `label` names its purpose.
    pub fn view(&self, id: &str, languages: &[String], label: &dyn Fn(&PurposeId) -> String) -> Option<PromptView> {
        let q = self.question(id)?;
        let language = pick_language(&q.text, languages, &self.default_language);
        Some(q.view(&language, &self.default_language, &label(&q.purpose)))
    }

    /// `decision` with its chosen question as the visitor sees it.
    pub fn next_prompt(
        &self,
        decision: Decision,
        languages: &[String],
        label: &dyn Fn(&PurposeId) -> String,
    ) -> NextPrompt {
        let prompt = decision.show.as_deref().and_then(|id| self.view(id, languages, label));
        NextPrompt { decision, prompt }
    }
}

impl Question {
    /// This question in `language` (texts missing in it fall back to `default_language`, which
    /// the config guarantees).
    pub fn view(&self, language: &str, default_language: &str, purpose_label: &str) -> PromptView {
        let pick = |t: &Texts| t.get(language).or_else(|| t.get(default_language)).cloned().unwrap_or_default();
        let (kind, min, max, max_length) = match self.kind {
            Kind::Single => ("single", None, None, None),
            Kind::Multiple => ("multiple", None, None, None),
            Kind::Scale { min, max } => ("scale", Some(min), Some(max), None),
            Kind::YesNo => ("yesNo", None, None, None),
            Kind::Text { max_length } => ("text", None, None, Some(max_length)),
        };
        PromptView {
            id: self.id.clone(),
            kind,
            language: if self.text.contains_key(language) { language } else { default_language }.to_owned(),
            text: pick(&self.text),
            options: self.options.iter().map(|o| PromptOption { id: o.id.clone(), label: pick(&o.label) }).collect(),
            min,
            max,
            max_length,
            why: pick(&self.why),
            used_for: pick(&self.used_for),
            purpose: self.purpose.to_string(),
            purpose_label: purpose_label.to_owned(),
            retention_days: self.retention_days,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_visitors_language_is_matched_exactly_then_by_primary_tag_then_the_default() {
        let texts: Texts = [("en".to_owned(), "Hi".to_owned()), ("de".to_owned(), "Hallo".to_owned())].into();
        let pick =
            |wanted: &[&str]| pick_language(&texts, &wanted.iter().map(|s| s.to_string()).collect::<Vec<_>>(), "en");
        assert_eq!(pick(&["de"]), "de");
        assert_eq!(pick(&["de-CH", "en"]), "de");
        assert_eq!(pick(&["fr", "DE"]), "de");
        assert_eq!(pick(&["fr"]), "en");
        assert_eq!(pick(&[]), "en");
    }
}
