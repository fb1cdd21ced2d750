//! Pseudonymous ids: one random id per purpose that asks for one, so events of different
//! purposes cannot be joined by id. An id exists only while its purpose is granted: it is created
//! the first time an event of that purpose leaves, replaced after the purpose's `rotateDays`, and
//! forgotten the moment the purpose is no longer granted (a later grant starts a new one).

use crate::ids::{is_lower_hex, IdGenerator};
use crate::purpose::PurposeId;
use crate::time::Millis;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PseudonymousId {
    pub purpose: PurposeId,
    pub id: String,
    /// When this id was created; it is replaced `rotateDays` later.
    pub since: Millis,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PseudonymousIds {
    ids: Vec<PseudonymousId>,
}

impl PseudonymousIds {
    /// Keeps well-formed ids, one per purpose (the first).
    pub fn from_entries(entries: Vec<PseudonymousId>) -> Self {
        let mut ids: Vec<PseudonymousId> = Vec::with_capacity(entries.len());
        for entry in entries {
            if is_lower_hex(&entry.id, 32) && !ids.iter().any(|e| e.purpose == entry.purpose) {
                ids.push(entry);
            }
        }
        Self { ids }
    }

    pub fn entries(&self) -> &[PseudonymousId] {
        &self.ids
    }

    pub fn get(&self, purpose: &PurposeId) -> Option<&PseudonymousId> {
        self.ids.iter().find(|e| &e.purpose == purpose)
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Merges ids read from storage: per purpose the newer id wins (storage may lag behind the
    /// last write of this tab or another, so it does not simply replace what this tab holds).
    pub fn merge_stored(&mut self, stored: PseudonymousIds) {
        for entry in stored.ids {
            match self.ids.iter_mut().find(|e| e.purpose == entry.purpose) {
                Some(mine) if mine.since >= entry.since => {}
                Some(mine) => *mine = entry,
                None => self.ids.push(entry),
            }
        }
    }

    /// The purpose's id at `now`, creating or rotating it as needed.
    pub fn current(&mut self, purpose: &PurposeId, rotate_days: u32, now: Millis, gen: &mut IdGenerator) -> String {
        let rotate_ms = u64::from(rotate_days) * Millis::DAY;
        let fresh = |entry: &PseudonymousId| now.since(entry.since) < rotate_ms && entry.since.0 <= now.0 + Millis::DAY;
        if let Some(entry) = self.get(purpose).filter(|e| fresh(e)) {
            return entry.id.clone();
        }
        let id = gen.next_hex128();
        self.ids.retain(|e| &e.purpose != purpose);
        self.ids.push(PseudonymousId { purpose: purpose.clone(), id: id.clone(), since: now });
        id
    }

    /// Forgets the ids `keep(purpose, since)` refuses: those of purposes no longer granted, and
    /// those created before the purpose's last withdrawal (a stale copy read back from storage).
    /// Returns whether anything was forgotten.
    pub fn retain(&mut self, keep: impl Fn(&PurposeId, Millis) -> bool) -> bool {
        let before = self.ids.len();
        self.ids.retain(|e| keep(&e.purpose, e.since));
        self.ids.len() != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_per_purpose_rotate_and_are_forgotten_on_withdrawal() {
        let mut gen = IdGenerator::new([1; 32]);
        let mut ids = PseudonymousIds::default();
        let (a, m) = (PurposeId::parse("analytics").unwrap(), PurposeId::parse("marketing").unwrap());
        let t0 = Millis(1_000 * Millis::DAY);
        let first = ids.current(&a, 30, t0, &mut gen);
        assert_ne!(first, ids.current(&m, 30, t0, &mut gen), "purposes never share an id");
        assert_eq!(first, ids.current(&a, 30, Millis(t0.0 + 29 * Millis::DAY), &mut gen));
        let rotated = ids.current(&a, 30, Millis(t0.0 + 30 * Millis::DAY), &mut gen);
        assert_ne!(first, rotated);
        assert!(ids.retain(|p, _| p != &a));
        let regranted = ids.current(&a, 30, Millis(t0.0 + 30 * Millis::DAY), &mut gen);
        assert_ne!(regranted, rotated, "a new grant starts a new id");
    }

    #[test]
    fn an_id_dated_in_the_future_is_replaced() {
        let mut gen = IdGenerator::new([2; 32]);
        let a = PurposeId::parse("analytics").unwrap();
        let stored = vec![PseudonymousId { purpose: a.clone(), id: "ab".repeat(16), since: Millis(100 * Millis::DAY) }];
        let mut ids = PseudonymousIds::from_entries(stored);
        assert_ne!(ids.current(&a, 30, Millis(Millis::DAY), &mut gen), "ab".repeat(16));
    }
}
