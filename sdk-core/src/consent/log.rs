//! The consent record: an append-only log of every explicit choice, each entry carrying the
//! SHA-256 of the one before it, so that any edit, deletion or reordering breaks the chain.
//!
//! What the chain can and cannot show: it detects any change to an entry, removing or swapping
//! entries, and removing the first ones. Cutting entries off the *end* leaves a valid, shorter
//! chain; that is detected against a head hash kept elsewhere — the visitor's receipt, the
//! snapshot's `head`, or the receipt hashes the collector stores — with [`ConsentLog::extends`].

use crate::ids::{is_lower_hex, sha256_hex};
use crate::purpose::PurposeId;
use crate::time::Millis;
use serde::{Deserialize, Serialize};

/// Hash that the first entry points back to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who made an explicit choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub enum ChoiceSource {
    /// The visitor, in the consent banner or privacy settings.
    Banner,
    /// The site, through `attune.consent.grant/deny/withdraw`.
    Api,
}

impl ChoiceSource {
    /// The name that goes into the hash: fixed here, not borrowed from `Debug`, so renaming a
    /// variant can never change the hashes of records already stored.
    fn as_str(self) -> &'static str {
        match self {
            ChoiceSource::Banner => "banner",
            ChoiceSource::Api => "api",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub enum Decision {
    Granted,
    Denied,
    /// A grant taken back: counts as denied from then on.
    Withdrawn,
}

impl Decision {
    fn as_str(self) -> &'static str {
        match self {
            Decision::Granted => "granted",
            Decision::Denied => "denied",
            Decision::Withdrawn => "withdrawn",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub struct Change {
    pub purpose: PurposeId,
    pub decision: Decision,
}

/// One explicit choice, as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub struct LogEntry {
    /// Position in the log, from 0.
    #[cfg_attr(feature = "typescript", ts(type = "number"))]
    pub seq: u64,
    pub at: Millis,
    pub source: ChoiceSource,
    /// Policy revision the visitor answered.
    pub revision: u32,
    /// SHA-256 of the policy text shown when the choice was made.
    pub policy_hash: String,
    pub changes: Vec<Change>,
    /// Hash of the previous entry ([`GENESIS`] for the first).
    pub prev: String,
    /// SHA-256 of this entry's other fields.
    pub hash: String,
}

impl LogEntry {
    fn compute_hash(&self) -> String {
        // Every field is either fixed-format or a validated purpose id, so '\n', '=' and ';'
        // cannot occur inside a field and this encoding is unambiguous.
        let mut canonical = format!(
            "attune-consent-v1\n{}\n{}\n{}\n{}\n{}\n{}\n",
            self.seq,
            self.at.0,
            self.source.as_str(),
            self.revision,
            self.policy_hash,
            self.prev
        );
        for c in &self.changes {
            canonical.push_str(c.purpose.as_str());
            canonical.push('=');
            canonical.push_str(c.decision.as_str());
            canonical.push(';');
        }
        sha256_hex(canonical.as_bytes())
    }
}

/// Where and how a log fails verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    #[error("entry {index}: its content does not match its hash (edited)")]
    HashMismatch { index: usize },
    #[error("entry {index}: does not point to the entry before it (deleted or reordered)")]
    BrokenLink { index: usize },
    #[error("entry {index}: sequence number {found}, expected {index} (deleted or reordered)")]
    BadSequence { index: usize, found: u64 },
    #[error("entry {index}: malformed hash field")]
    MalformedHash { index: usize },
    #[error("entry {index}: records no change")]
    EmptyEntry { index: usize },
}

impl LogError {
    pub fn index(&self) -> usize {
        match self {
            LogError::HashMismatch { index }
            | LogError::BrokenLink { index }
            | LogError::BadSequence { index, .. }
            | LogError::MalformedHash { index }
            | LogError::EmptyEntry { index } => *index,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsentLog {
    entries: Vec<LogEntry>,
}

impl ConsentLog {
    /// A log read from storage: [`ConsentLog::verify`] before trusting it.
    pub fn from_entries(entries: Vec<LogEntry>) -> Self {
        Self { entries }
    }

    pub fn entries(&self) -> &[LogEntry] {
        &self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn head(&self) -> &str {
        self.entries.last().map_or(GENESIS, |e| e.hash.as_str())
    }

    pub fn append(&mut self, at: Millis, source: ChoiceSource, revision: u32, policy_hash: &str, changes: Vec<Change>) {
        let mut entry = LogEntry {
            seq: self.entries.len() as u64,
            at,
            source,
            revision,
            policy_hash: policy_hash.to_owned(),
            changes,
            prev: self.head().to_owned(),
            hash: String::new(),
        };
        entry.hash = entry.compute_hash();
        self.entries.push(entry);
    }

    pub fn verify(&self) -> Result<(), LogError> {
        let mut prev = GENESIS;
        for (index, entry) in self.entries.iter().enumerate() {
            if !is_lower_hex(&entry.hash, 64) || !is_lower_hex(&entry.prev, 64) || !is_lower_hex(&entry.policy_hash, 64)
            {
                return Err(LogError::MalformedHash { index });
            }
            if entry.seq != index as u64 {
                return Err(LogError::BadSequence { index, found: entry.seq });
            }
            if entry.prev != prev {
                return Err(LogError::BrokenLink { index });
            }
            if entry.changes.is_empty() {
                return Err(LogError::EmptyEntry { index });
            }
            if entry.compute_hash() != entry.hash {
                return Err(LogError::HashMismatch { index });
            }
            prev = &entry.hash;
        }
        Ok(())
    }

    /// Whether this log contains the entry whose hash is `head`, i.e. nothing recorded up to that
    /// point was cut off. Call after [`ConsentLog::verify`].
    pub fn extends(&self, head: &str) -> bool {
        head == GENESIS || self.entries.iter().any(|e| e.hash == head)
    }

    /// The latest recorded choice about `purpose`.
    pub fn latest(&self, purpose: &PurposeId) -> Option<(&LogEntry, Decision)> {
        self.entries
            .iter()
            .rev()
            .find_map(|entry| entry.changes.iter().rev().find(|c| &c.purpose == purpose).map(|c| (entry, c.decision)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn purpose(s: &str) -> PurposeId {
        PurposeId::parse(s).unwrap()
    }

    fn sample() -> ConsentLog {
        let mut log = ConsentLog::default();
        let policy = "a".repeat(64);
        log.append(
            Millis(1_000),
            ChoiceSource::Banner,
            1,
            &policy,
            vec![Change { purpose: purpose("analytics"), decision: Decision::Granted }],
        );
        log.append(
            Millis(2_000),
            ChoiceSource::Api,
            1,
            &policy,
            vec![Change { purpose: purpose("marketing"), decision: Decision::Denied }],
        );
        log.append(
            Millis(3_000),
            ChoiceSource::Banner,
            1,
            &policy,
            vec![Change { purpose: purpose("analytics"), decision: Decision::Withdrawn }],
        );
        log
    }

    #[test]
    fn an_untouched_log_verifies() {
        assert_eq!(sample().verify(), Ok(()));
        assert_eq!(ConsentLog::default().verify(), Ok(()));
    }

    #[test]
    fn editing_a_decision_is_detected() {
        let mut log = sample();
        log.entries[1].changes[0].decision = Decision::Granted;
        assert_eq!(log.verify(), Err(LogError::HashMismatch { index: 1 }));
    }

    #[test]
    fn editing_a_timestamp_is_detected() {
        let mut log = sample();
        log.entries[0].at = Millis(999);
        assert_eq!(log.verify(), Err(LogError::HashMismatch { index: 0 }));
    }

    #[test]
    fn deleting_an_entry_is_detected() {
        let mut log = sample();
        log.entries.remove(1);
        assert!(matches!(log.verify(), Err(LogError::BadSequence { index: 1, .. })));
        let mut log = sample();
        log.entries.remove(0);
        assert!(log.verify().is_err());
    }

    #[test]
    fn reordering_is_detected() {
        let mut log = sample();
        log.entries.swap(1, 2);
        assert!(log.verify().is_err());
    }

    #[test]
    fn truncating_the_tail_is_detected_against_a_kept_head() {
        let log = sample();
        let kept_head = log.head().to_owned();
        let mut cut = log.clone();
        cut.entries.pop();
        assert_eq!(cut.verify(), Ok(()), "a shorter chain is self-consistent");
        assert!(!cut.extends(&kept_head));
        assert!(log.extends(&kept_head));
    }

    #[test]
    fn the_hash_encoding_is_stable() {
        // Pinned: stored records and receipts must keep verifying across SDK versions.
        let log = sample();
        assert_eq!(log.entries[0].prev, GENESIS);
        assert_eq!(log.entries[0].hash, PINNED_FIRST_HASH);
    }

    // sha256("attune-consent-v1\n0\n1000\nbanner\n1\n{64×a}\n{64×0}\nanalytics=granted;"), computed independently.
    const PINNED_FIRST_HASH: &str = "d01c390c1b2605fde794eb525bb4d3a47d193bbf8ef78fcda10b9ce5dd58ef1e";

    #[test]
    fn latest_choice_wins() {
        let log = sample();
        assert_eq!(log.latest(&purpose("analytics")).unwrap().1, Decision::Withdrawn);
        assert_eq!(log.latest(&purpose("marketing")).unwrap().1, Decision::Denied);
        assert!(log.latest(&purpose("personalization")).is_none());
    }
}
