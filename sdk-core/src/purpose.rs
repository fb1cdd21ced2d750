//! Purposes: why a datum is stored or an event is sent. Every datum carries exactly one.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

pub const NECESSARY: &str = "necessary";
pub const ANALYTICS: &str = "analytics";
pub const PERSONALIZATION: &str = "personalization";
pub const MARKETING: &str = "marketing";

/// The purposes every site has, in the order a banner lists them.
pub const BUILT_IN: [&str; 4] = [NECESSARY, ANALYTICS, PERSONALIZATION, MARKETING];

/// A purpose id: 1–32 characters of `a-z`, `0-9`, `_` and `-`, starting with a letter.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export, type = "string"))]
pub struct PurposeId(String);

/// Why a string is not a purpose id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a purpose id (1-32 chars of a-z, 0-9, '_' or '-', starting with a letter), found {found:?}")]
pub struct InvalidPurposeId {
    pub found: String,
}

impl PurposeId {
    pub fn parse(s: &str) -> Result<Self, InvalidPurposeId> {
        let ok = (1..=32).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidPurposeId { found: s.chars().take(64).collect() })
        }
    }

    pub fn necessary() -> Self {
        Self(NECESSARY.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `necessary` is always granted and can be neither denied nor withdrawn.
    pub fn is_necessary(&self) -> bool {
        self.0 == NECESSARY
    }

    pub fn is_built_in(&self) -> bool {
        BUILT_IN.contains(&self.0.as_str())
    }
}

impl fmt::Display for PurposeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PurposeId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        PurposeId::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ids_a_site_would_write() {
        for ok in ["analytics", "support_chat", "ab-test2", "x"] {
            assert!(PurposeId::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_ids_that_could_smuggle_markup_or_delimiters() {
        for bad in ["", "Analytics", "2fa", "a b", "a=b", "a;b", "<script>", &"a".repeat(33)] {
            assert!(PurposeId::parse(bad).is_err(), "{bad:?}");
        }
    }
}
