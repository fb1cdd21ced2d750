//! On-device recommendations: the site's catalogue ranked for one visitor from their own
//! signals and stated preferences, every result with the reasons behind its score.
//!
//! - [`catalog`] / [`binary`]: the catalogue (JSON or binary), checked item by item.
//! - [`neighbours`]: the optional sidecar of related items, built server-side.
//! - [`config`]: weights, signal half-lives, event mapping and business rules.
//! - [`signals`]: the visitor's signals (stored only under `personalization`).
//! - [`rank`]: the hybrid score, filters, rules, diversity and explanations.
//!
//! The score of an item is a sum of parts, and every part is kept with what caused it, so a
//! result's `because` list adds up to its score (see [`Recommendation::because`]).

pub mod binary;
pub mod catalog;
pub mod config;
pub mod neighbours;
mod rank;
pub mod signals;
mod simd;

pub use catalog::{Catalog, Issues, ItemIssue};
pub use config::RecConfig;
pub use neighbours::Neighbours;
pub use rank::Recommender;
pub use signals::{Signal, SignalKind, Signals};
pub use simd::dot_i8;

use crate::error::ErrorCode;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RecError {
    /// A catalogue, sidecar or request could not be read at all.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// A request names an item the catalogue does not have.
    #[error("{field}: no item {id:?} in the catalogue")]
    UnknownItem { field: String, id: String },
    /// Recommendations were asked for before a catalogue was loaded.
    #[error("no catalogue loaded")]
    NoCatalog,
}

/// A number for a message, written by serde_json (core's float formatting costs the browser
/// build kilobytes).
pub(crate) fn show(x: f64) -> String {
    serde_json::Value::from(x).to_string()
}

impl RecError {
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> RecError {
        RecError::Invalid { field: field.into(), message: message.into() }
    }
}

impl ErrorCode for RecError {
    fn code(&self) -> &'static str {
        match self {
            RecError::Invalid { .. } => "invalid_input",
            RecError::UnknownItem { .. } => "unknown_item",
            RecError::NoCatalog => "no_catalog",
        }
    }
    fn field(&self) -> Option<String> {
        match self {
            RecError::Invalid { field, .. } | RecError::UnknownItem { field, .. } => Some(field.clone()),
            RecError::NoCatalog => None,
        }
    }
}

/// Where a rail is shown, which decides what it is built from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Slot {
    /// Personal: from the visitor's signals and stated preferences (popular items at first).
    #[default]
    Home,
    /// Like the context item (the product on screen), nudged by the visitor's signals.
    Similar,
    /// Goes with the context items (the cart): their neighbours, never the items themselves.
    Cart,
}

impl Slot {
    pub fn parse(s: &str) -> Option<Slot> {
        match s {
            "home" => Some(Slot::Home),
            "similar" => Some(Slot::Similar),
            "cart" => Some(Slot::Cart),
            _ => None,
        }
    }
}

pub const MAX_K: usize = 100;

/// One ranking request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RankRequest {
    pub slot: Slot,
    pub k: usize,
    /// The item on screen (`similar`) or the cart's items (`cart`).
    pub context: Vec<String>,
    /// Never these items.
    pub exclude: Vec<String>,
    /// Only items with at least one of these tags (empty: any).
    pub any_tags: Vec<String>,
    /// Never items with any of these tags.
    pub no_tags: Vec<String>,
    /// Items the visitor already interacted with may be shown (default: only in `similar` and
    /// `cart`). Purchased and "not interested" items never are.
    pub include_seen: Option<bool>,
    pub include_unavailable: bool,
}

/// Why an item scored: one part of its score and what caused it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reason {
    pub kind: ReasonKind,
    /// The item behind it (`history`, `context`, `promoted`), with its title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the visitor did with that item (`history`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<&'static str>,
    /// The tag behind it (`interest`, `stated`, `popular`, `promoted`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// This reason's part of the score.
    pub weight: f32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ReasonKind {
    /// "Because you viewed X" (or added, bought… — see `signal`).
    History,
    /// "Similar to X" / "goes with X": the item on screen or in the cart.
    Context,
    /// "You told us you like Y": a tag from an answer.
    Stated,
    /// "You often look at Y": a tag inferred from the visitor's signals.
    Interest,
    /// "Popular in Z" (or just popular, without a tag).
    Popular,
    /// The site boosted or pinned it.
    Promoted,
}

/// One ranked item.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recommendation {
    pub id: String,
    pub title: String,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    pub score: f32,
    /// The largest positive parts of the score (at most three), largest first. All the parts,
    /// negative ones included, add up to `score`.
    pub because: Vec<Reason>,
    /// The site pinned it to this place (a rule), whatever its score.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pinned: bool,
}

pub const REQUEST_KEYS: [&str; 7] = ["slot", "k", "context", "exclude", "tags", "includeSeen", "includeUnavailable"];

impl RankRequest {
    /// Reads `{slot, k, context, exclude, tags: {anyOf, noneOf}, includeSeen, includeUnavailable}`;
    /// the first problem is reported with its field.
    pub fn from_value(v: &serde_json::Value) -> Result<RankRequest, RecError> {
        use crate::profiling::config::found;
        use serde_json::Value;
        let map = v
            .as_object()
            .ok_or_else(|| RecError::invalid("options", format!("expected an object, found {}", found(v))))?;
        if let Some(key) = map.keys().find(|k| !REQUEST_KEYS.contains(&k.as_str())) {
            return Err(RecError::invalid(
                key.clone(),
                format!("unknown option, expected one of {}", REQUEST_KEYS.join(", ")),
            ));
        }
        let ids = |key: &str, v: Option<&Value>| -> Result<Vec<String>, RecError> {
            match v {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::String(s)) => Ok(vec![s.clone()]),
                Some(Value::Array(a)) if a.len() <= 1000 => a
                    .iter()
                    .enumerate()
                    .map(|(n, x)| {
                        x.as_str().map(str::to_owned).ok_or_else(|| {
                            RecError::invalid(format!("{key}[{n}]"), format!("expected a string, found {}", found(x)))
                        })
                    })
                    .collect(),
                Some(v) => Err(RecError::invalid(
                    key,
                    format!("expected a string or an array of at most 1000 strings, found {}", found(v)),
                )),
            }
        };
        let flag = |key: &str| -> Result<Option<bool>, RecError> {
            match map.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Bool(b)) => Ok(Some(*b)),
                Some(v) => Err(RecError::invalid(key, format!("expected true or false, found {}", found(v)))),
            }
        };
        let slot = match map.get("slot") {
            None | Some(Value::Null) => Slot::Home,
            Some(v) => v.as_str().and_then(Slot::parse).ok_or_else(|| {
                RecError::invalid("slot", format!("expected \"home\", \"similar\" or \"cart\", found {v}"))
            })?,
        };
        let k = match map.get("k") {
            None | Some(Value::Null) => 10,
            Some(v) => v.as_u64().filter(|k| (1..=MAX_K as u64).contains(k)).ok_or_else(|| {
                RecError::invalid("k", format!("expected a whole number from 1 to {MAX_K}, found {v}"))
            })? as usize,
        };
        let (mut any_tags, mut no_tags) = (Vec::new(), Vec::new());
        match map.get("tags") {
            None | Some(Value::Null) => {}
            Some(Value::Object(t)) => {
                if let Some(key) = t.keys().find(|k| *k != "anyOf" && *k != "noneOf") {
                    return Err(RecError::invalid(format!("tags.{key}"), "unknown option, expected anyOf or noneOf"));
                }
                any_tags = ids("tags.anyOf", t.get("anyOf"))?;
                no_tags = ids("tags.noneOf", t.get("noneOf"))?;
            }
            Some(v) => {
                return Err(RecError::invalid("tags", format!("expected {{anyOf, noneOf}}, found {}", found(v))))
            }
        }
        Ok(RankRequest {
            slot,
            k,
            context: ids("context", map.get("context"))?,
            exclude: ids("exclude", map.get("exclude"))?,
            any_tags,
            no_tags,
            include_seen: flag("includeSeen")?,
            include_unavailable: flag("includeUnavailable")?.unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests;
