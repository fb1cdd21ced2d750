//! The one door out, part 1: where events wait and what may leave.
//!
//! An event captured while its purpose is undecided waits in a memory-only buffer (never
//! persisted); it moves to the outbox if the purpose is granted during the page and is dropped if
//! it is denied. Events in the outbox are checked against consent again when a batch is taken,
//! and a withdrawal drops the purpose's events from the buffer, the outbox and failed batches.

use crate::consent::Status;
use crate::error::ErrorCode;
use crate::purpose::PurposeId;
use crate::time::Millis;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, VecDeque};

/// Largest event accepted at capture (its JSON form).
pub const MAX_EVENT_BYTES: usize = 32 * 1024;
/// Largest batch sent with `fetch`.
pub const MAX_BATCH_BYTES: usize = 500 * 1000;
/// Largest batch sent with `sendBeacon` / keepalive while the page is going away.
pub const MAX_BEACON_BYTES: usize = 64 * 1000;
/// Room left in a batch for everything around the events (site id, consent, sentAt).
const ENVELOPE_BYTES: usize = 2 * 1024;

/// An event as it leaves the device.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    /// 32 hex chars, random, kept across retries so the collector stores it once.
    pub id: String,
    pub name: String,
    pub purpose: PurposeId,
    /// Capture time on the device.
    pub ts: Millis,
    pub props: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackError {
    #[error("unknown purpose {purpose:?}: declare it in the config's `purposes`")]
    UnknownPurpose { purpose: String },
    #[error("event name must be 1-64 characters without control characters, found {name:?}")]
    InvalidName { name: String },
    #[error("event props must be a plain object, found {found}")]
    InvalidProps { found: String },
    #[error("event is {bytes} bytes, over the {limit}-byte limit")]
    TooLarge { bytes: usize, limit: usize },
}

impl ErrorCode for TrackError {
    fn code(&self) -> &'static str {
        match self {
            TrackError::UnknownPurpose { .. } => "unknown_purpose",
            TrackError::InvalidName { .. } => "invalid_event_name",
            TrackError::InvalidProps { .. } => "invalid_props",
            TrackError::TooLarge { .. } => "event_too_large",
        }
    }
    fn field(&self) -> Option<String> {
        Some(
            match self {
                TrackError::UnknownPurpose { .. } => "purpose",
                TrackError::InvalidName { .. } => "name",
                TrackError::InvalidProps { .. } | TrackError::TooLarge { .. } => "props",
            }
            .into(),
        )
    }
}

/// Checks a new event's name and props and measures it.
pub fn validate_event(name: &str, props: Value) -> Result<(String, Map<String, Value>), TrackError> {
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(TrackError::InvalidName { name: name.chars().take(80).collect() });
    }
    let props = match props {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        other => {
            let found = match other {
                Value::Array(_) => "an array",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                _ => "a boolean",
            };
            return Err(TrackError::InvalidProps { found: found.into() });
        }
    };
    Ok((name.to_owned(), props))
}

/// What to do with a batch after the collector answered with an HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Stored (2xx): forget the events.
    Delivered,
    /// Worth trying again later (network error, 408, 429, 5xx but 501 and 505).
    Retry,
    /// The collector will never take this batch (other 4xx, 501, 505): drop it, retrying cannot help.
    Rejected,
}

/// Classifies a collector response; `None` is a network failure (no response at all).
pub fn classify_status(status: Option<u16>) -> Delivery {
    match status {
        None => Delivery::Retry,
        Some(200..=299) => Delivery::Delivered,
        Some(408 | 429) => Delivery::Retry,
        Some(501 | 505) => Delivery::Rejected,
        Some(500..=599) => Delivery::Retry,
        Some(_) => Delivery::Rejected,
    }
}

/// Longest wait between retries after failed sends.
pub const MAX_RETRY_DELAY_MS: u32 = 60_000;

/// How long to wait before the next send: the flush interval, doubled for each failure in a
/// row, capped at [`MAX_RETRY_DELAY_MS`] (or the interval, if that is longer).
pub fn next_send_delay(flush_interval_ms: u32, failures: u32) -> u32 {
    flush_interval_ms.saturating_mul(1 << failures.min(16)).min(MAX_RETRY_DELAY_MS.max(flush_interval_ms))
}

/// What happened to a captured event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Captured {
    /// Its purpose is granted: it waits for the next batch.
    Queued,
    /// Its purpose is undecided: it waits in memory for the visitor's answer.
    Buffered,
    /// Its purpose is denied: it was discarded.
    Dropped,
}

#[derive(Clone, Debug)]
struct Waiting {
    event: Event,
    bytes: usize,
}

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub buffer: usize,
    pub outbox: usize,
}

/// Events between capture and the collector's acknowledgement.
#[derive(Debug)]
pub struct Egress {
    limits: Limits,
    buffer: VecDeque<Waiting>,
    outbox: VecDeque<Waiting>,
    in_flight: BTreeMap<u64, Vec<Waiting>>,
    next_batch: u64,
    /// Events dropped because a bound was reached (oldest first).
    pub overflowed: u64,
}

impl Egress {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            buffer: VecDeque::new(),
            outbox: VecDeque::new(),
            in_flight: BTreeMap::new(),
            next_batch: 1,
            overflowed: 0,
        }
    }

    /// Files an event according to its purpose's status now.
    pub fn capture(&mut self, event: Event, status: Status) -> Result<Captured, TrackError> {
        let bytes = serde_json::to_string(&event).map(|s| s.len()).unwrap_or(usize::MAX);
        if bytes > MAX_EVENT_BYTES {
            return Err(TrackError::TooLarge { bytes, limit: MAX_EVENT_BYTES });
        }
        let waiting = Waiting { event, bytes };
        Ok(match status {
            Status::Granted => {
                Self::push_bounded(&mut self.outbox, waiting, self.limits.outbox, &mut self.overflowed);
                Captured::Queued
            }
            Status::NotAsked if self.limits.buffer > 0 => {
                Self::push_bounded(&mut self.buffer, waiting, self.limits.buffer, &mut self.overflowed);
                Captured::Buffered
            }
            Status::NotAsked | Status::Denied => Captured::Dropped,
        })
    }

    fn push_bounded(queue: &mut VecDeque<Waiting>, item: Waiting, limit: usize, overflowed: &mut u64) {
        while queue.len() >= limit.max(1) {
            queue.pop_front();
            *overflowed += 1;
        }
        queue.push_back(item);
    }

    /// Applies a consent change: buffered events of granted purposes join the outbox (keeping
    /// their capture time), and every waiting event whose purpose is no longer granted is gone.
    pub fn apply_consent(&mut self, status_of: impl Fn(&PurposeId) -> Status) {
        let mut still_undecided = VecDeque::new();
        for waiting in self.buffer.drain(..) {
            match status_of(&waiting.event.purpose) {
                Status::Granted => {
                    Self::push_bounded(&mut self.outbox, waiting, self.limits.outbox, &mut self.overflowed)
                }
                Status::NotAsked => still_undecided.push_back(waiting),
                Status::Denied => {}
            }
        }
        self.buffer = still_undecided;
        let granted = |w: &Waiting| status_of(&w.event.purpose) == Status::Granted;
        self.outbox.retain(granted);
        self.outbox.make_contiguous().sort_by_key(|w| w.event.ts);
        for batch in self.in_flight.values_mut() {
            batch.retain(granted);
        }
    }

    /// Takes the next batch to send: at most `max_events` events whose JSON fits in `max_bytes`,
    /// oldest first, each checked against consent *now*.
    pub fn take_batch(
        &mut self,
        is_granted: impl Fn(&PurposeId) -> bool,
        max_events: usize,
        max_bytes: usize,
    ) -> Option<(u64, Vec<Event>)> {
        self.outbox.retain(|w| is_granted(&w.event.purpose));
        let budget = max_bytes.saturating_sub(ENVELOPE_BYTES);
        let mut used = 0;
        let mut taken = Vec::new();
        while let Some(next) = self.outbox.front() {
            if taken.len() >= max_events || used + next.bytes + 1 > budget {
                break;
            }
            used += next.bytes + 1;
            taken.push(self.outbox.pop_front().expect("front exists"));
        }
        if taken.is_empty() {
            return None;
        }
        let id = self.next_batch;
        self.next_batch += 1;
        let events = taken.iter().map(|w| w.event.clone()).collect();
        self.in_flight.insert(id, taken);
        Some((id, events))
    }

    /// The collector stored the batch.
    pub fn ack(&mut self, batch: u64) {
        self.in_flight.remove(&batch);
    }

    /// The batch did not arrive: its events (those still granted) go back to the front.
    pub fn fail(&mut self, batch: u64) {
        if let Some(events) = self.in_flight.remove(&batch) {
            for waiting in events.into_iter().rev() {
                self.outbox.push_front(waiting);
            }
        }
    }

    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    pub fn queued(&self) -> usize {
        self.outbox.len()
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.values().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u64, purpose: &str) -> Event {
        Event {
            id: format!("{n:032x}"),
            name: "e".into(),
            purpose: PurposeId::parse(purpose).unwrap(),
            ts: Millis(n),
            props: Map::new(),
        }
    }

    fn egress() -> Egress {
        Egress::new(Limits { buffer: 3, outbox: 100 })
    }

    #[test]
    fn undecided_events_wait_and_leave_with_their_capture_time_once_granted() {
        let mut e = egress();
        assert_eq!(e.capture(event(5, "analytics"), Status::NotAsked), Ok(Captured::Buffered));
        assert!(e.take_batch(|_| false, 10, MAX_BATCH_BYTES).is_none());
        e.apply_consent(|_| Status::Granted);
        let (_, batch) = e.take_batch(|_| true, 10, MAX_BATCH_BYTES).unwrap();
        assert_eq!(batch, vec![event(5, "analytics")]);
    }

    #[test]
    fn denial_drops_buffered_events() {
        let mut e = egress();
        e.capture(event(1, "analytics"), Status::NotAsked).unwrap();
        e.capture(event(2, "marketing"), Status::NotAsked).unwrap();
        e.apply_consent(|p| if p.as_str() == "analytics" { Status::Denied } else { Status::NotAsked });
        assert_eq!(e.buffered(), 1);
        assert_eq!(e.queued(), 0);
    }

    #[test]
    fn the_pre_consent_buffer_is_bounded_dropping_the_oldest() {
        let mut e = egress();
        for n in 0..5 {
            e.capture(event(n, "analytics"), Status::NotAsked).unwrap();
        }
        assert_eq!(e.buffered(), 3);
        assert_eq!(e.overflowed, 2);
        e.apply_consent(|_| Status::Granted);
        let (_, batch) = e.take_batch(|_| true, 10, MAX_BATCH_BYTES).unwrap();
        assert_eq!(batch.iter().map(|ev| ev.ts.0).collect::<Vec<_>>(), [2, 3, 4]);
    }

    #[test]
    fn consent_is_checked_again_when_the_batch_is_taken() {
        let mut e = egress();
        e.capture(event(1, "analytics"), Status::Granted).unwrap();
        e.capture(event(2, "marketing"), Status::Granted).unwrap();
        let (_, batch) = e.take_batch(|p| p.as_str() == "marketing", 10, MAX_BATCH_BYTES).unwrap();
        assert_eq!(batch, vec![event(2, "marketing")]);
        assert_eq!(e.queued(), 0, "the no-longer-granted event is gone, not kept for later");
    }

    #[test]
    fn withdrawal_drops_events_of_failed_batches_too() {
        let mut e = egress();
        e.capture(event(1, "analytics"), Status::Granted).unwrap();
        let (id, _) = e.take_batch(|_| true, 10, MAX_BATCH_BYTES).unwrap();
        e.apply_consent(|_| Status::Denied);
        e.fail(id);
        assert_eq!(e.queued(), 0);
    }

    #[test]
    fn a_failed_batch_is_retried_with_the_same_ids_and_an_acked_one_is_not() {
        let mut e = egress();
        e.capture(event(1, "analytics"), Status::Granted).unwrap();
        let (id, first) = e.take_batch(|_| true, 10, MAX_BATCH_BYTES).unwrap();
        e.fail(id);
        let (id, second) = e.take_batch(|_| true, 10, MAX_BATCH_BYTES).unwrap();
        assert_eq!(first, second);
        e.ack(id);
        assert!(e.take_batch(|_| true, 10, MAX_BATCH_BYTES).is_none());
    }

    #[test]
    fn batches_respect_event_and_byte_limits() {
        let mut e = egress();
        for n in 0..10 {
            e.capture(event(n, "analytics"), Status::Granted).unwrap();
        }
        assert_eq!(e.take_batch(|_| true, 4, MAX_BATCH_BYTES).unwrap().1.len(), 4);
        let one = serde_json::to_string(&event(0, "analytics")).unwrap().len() + 1;
        let (_, small) = e.take_batch(|_| true, 100, ENVELOPE_BYTES + 2 * one).unwrap();
        assert_eq!(small.len(), 2);
    }

    #[test]
    fn responses_are_classified_for_retry() {
        assert_eq!(classify_status(Some(200)), Delivery::Delivered);
        assert_eq!(classify_status(None), Delivery::Retry);
        for retry in [408, 429, 500, 502, 503, 504] {
            assert_eq!(classify_status(Some(retry)), Delivery::Retry, "{retry}");
        }
        for rejected in [400, 401, 403, 404, 413, 501, 505] {
            assert_eq!(classify_status(Some(rejected)), Delivery::Rejected, "{rejected}");
        }
    }

    #[test]
    fn retries_back_off_exponentially_up_to_a_cap() {
        assert_eq!(next_send_delay(2000, 0), 2000);
        assert_eq!(next_send_delay(2000, 1), 4000);
        assert_eq!(next_send_delay(2000, 3), 16000);
        assert_eq!(next_send_delay(2000, 40), MAX_RETRY_DELAY_MS);
        assert_eq!(next_send_delay(120_000, 5), 120_000, "never shorter than the configured interval");
    }

    #[test]
    fn oversized_events_are_refused_at_capture() {
        let mut e = egress();
        let mut big = event(1, "analytics");
        big.props.insert("blob".into(), Value::String("x".repeat(MAX_EVENT_BYTES)));
        assert!(matches!(e.capture(big, Status::Granted), Err(TrackError::TooLarge { .. })));
    }

    #[test]
    fn event_names_and_props_are_validated() {
        assert!(validate_event("page_view", Value::Null).is_ok());
        assert_eq!(validate_event("", Value::Null).unwrap_err().code(), "invalid_event_name");
        assert_eq!(validate_event("a\nb", Value::Null).unwrap_err().code(), "invalid_event_name");
        assert_eq!(validate_event(&"n".repeat(65), Value::Null).unwrap_err().code(), "invalid_event_name");
        assert_eq!(validate_event("x", Value::from(3)).unwrap_err().code(), "invalid_props");
    }
}
