//! The one door out, part 1: where events wait and what may leave.
//!
//! An event captured while its purpose is undecided waits in a memory-only buffer (never
//! persisted); it moves to the outbox if the purpose is granted during the page and is dropped if
//! it is denied. Events in the outbox are checked against consent again when a batch is taken,
//! and a withdrawal drops the purpose's events from the buffer, the outbox and failed batches.
//!
//! The outbox is mirrored in storage (`attune:queue`), shared by every tab: each flush cycle
//! merges what is stored with what this tab holds ([`Egress::merge_stored`]) and writes the union
//! back. Storage is not trusted to be current — in Chromium another tab's `localStorage` write
//! reaches this tab's copy asynchronously, even when the cycles are serialised by a lock — so a
//! tab never concludes "sent" from an event's absence. Delivered (or refused) event ids are
//! recorded instead, in memory and beside the queue, and an event leaves the outbox only when its
//! id is known delivered, its purpose is no longer granted, or a bound is reached. A stale read can
//! then cost a duplicate send (the collector stores each id once), never a lost event.
//! The outbox is bounded by count and bytes; the oldest go first.

use crate::consent::Status;
use crate::error::ErrorCode;
use crate::purpose::PurposeId;
use crate::time::Millis;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashSet, VecDeque};

/// Largest event accepted at capture (its JSON form).
pub const MAX_EVENT_BYTES: usize = 32 * 1024;
/// Largest batch sent with `fetch`.
pub const MAX_BATCH_BYTES: usize = 500 * 1000;
/// Largest batch sent with `sendBeacon` / keepalive while the page is going away.
pub const MAX_BEACON_BYTES: usize = 64 * 1000;
/// Bytes of granted events waiting to be sent (their JSON); past it the oldest are dropped.
pub const MAX_QUEUED_BYTES: usize = 1_000_000;
/// Delivered ids remembered (in memory and in the stored queue), newest kept.
pub const MAX_DELIVERED_IDS: usize = 500;
/// Room left in a batch for everything around the events (site id, consent, sentAt).
const ENVELOPE_BYTES: usize = 2 * 1024;

/// An event as it leaves the device.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export))]
pub struct Event {
    /// 32 hex chars, random, kept across retries so the collector stores it once.
    pub id: String,
    pub name: String,
    pub purpose: PurposeId,
    /// Capture time on the device.
    pub ts: Millis,
    #[cfg_attr(feature = "typescript", ts(type = "Record<string, string | number | boolean>"))]
    pub props: Map<String, Value>,
    /// The purpose's pseudonymous id, added when the batch is built (never stored with the event).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(optional))]
    pub pid: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackError {
    #[error("unknown purpose {purpose:?}: declare it in the config's `purposes`")]
    UnknownPurpose { purpose: String },
    #[error(
        "event {name:?} is not declared for purpose {purpose:?}: add it to the config's `collect.{purpose}.events`"
    )]
    UndeclaredEvent { name: String, purpose: String },
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
            TrackError::UndeclaredEvent { .. } => "undeclared_event",
            TrackError::InvalidName { .. } => "invalid_event_name",
            TrackError::InvalidProps { .. } => "invalid_props",
            TrackError::TooLarge { .. } => "event_too_large",
        }
    }
    fn field(&self) -> Option<String> {
        Some(
            match self {
                TrackError::UnknownPurpose { .. } => "purpose",
                TrackError::InvalidName { .. } | TrackError::UndeclaredEvent { .. } => "name",
                TrackError::InvalidProps { .. } | TrackError::TooLarge { .. } => "props",
            }
            .into(),
        )
    }
}

/// Checks a new event's name and props and measures it.
pub fn validate_event(name: &str, props: Value) -> Result<(String, Map<String, Value>), TrackError> {
    if !crate::collect::is_event_name(name) {
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
/// Longest `Retry-After` honoured; a collector asking for more is retried after this.
pub const MAX_RETRY_AFTER_MS: u32 = 10 * 60_000;

/// How long to wait before the next send after `failures` failed sends in a row.
///
/// Exponential back-off with "equal jitter": the ceiling is the flush interval doubled per
/// failure, capped at [`MAX_RETRY_DELAY_MS`] (or the interval, if longer), and the wait is drawn
/// from its upper half (`jitter` in 0..=1 picks where), so tabs that failed together do not retry
/// together. A `Retry-After` from the collector is honoured up to [`MAX_RETRY_AFTER_MS`].
pub fn next_send_delay(flush_interval_ms: u32, failures: u32, jitter: f64, retry_after_ms: Option<u32>) -> u32 {
    let ceiling = if failures == 0 {
        flush_interval_ms
    } else {
        flush_interval_ms.saturating_mul(1 << failures.min(16)).min(MAX_RETRY_DELAY_MS.max(flush_interval_ms))
    };
    let jittered = if failures == 0 {
        ceiling
    } else {
        let half = ceiling / 2;
        half + (f64::from(ceiling - half) * jitter.clamp(0.0, 1.0)) as u32
    };
    jittered.max(retry_after_ms.unwrap_or(0).min(MAX_RETRY_AFTER_MS))
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

impl Waiting {
    fn new(event: Event) -> Self {
        let bytes = serde_json::to_string(&event).map(|s| s.len()).unwrap_or(usize::MAX);
        Self { event, bytes }
    }
}

/// A batch on its way to the collector.
#[derive(Debug)]
struct InFlight {
    /// Its events that may go back to the queue if the send fails (those still granted).
    waiting: Vec<Waiting>,
    /// Every event exactly as it was sent (with its pseudonymous id), for the egress log.
    sent: Vec<Event>,
    /// Consent for some of its events was withdrawn while it was on its way.
    revoked: bool,
}

/// The one sort key of waiting events (one function, so one sort is compiled into the wasm).
fn capture_time(w: &Waiting) -> Millis {
    w.event.ts
}

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub buffer: usize,
    pub outbox: usize,
    pub outbox_bytes: usize,
}

/// Events between capture and the collector's acknowledgement.
#[derive(Debug)]
pub struct Egress {
    limits: Limits,
    buffer: VecDeque<Waiting>,
    outbox: VecDeque<Waiting>,
    outbox_bytes: usize,
    in_flight: BTreeMap<u64, InFlight>,
    /// Events delivered or refused for good, by any tab: (purpose, id), oldest first, bounded.
    delivered: VecDeque<(PurposeId, String)>,
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
            outbox_bytes: 0,
            in_flight: BTreeMap::new(),
            delivered: VecDeque::new(),
            next_batch: 1,
            overflowed: 0,
        }
    }

    /// Files an event according to its purpose's status now.
    pub fn capture(&mut self, event: Event, status: Status) -> Result<Captured, TrackError> {
        let waiting = Waiting::new(event);
        if waiting.bytes > MAX_EVENT_BYTES {
            return Err(TrackError::TooLarge { bytes: waiting.bytes, limit: MAX_EVENT_BYTES });
        }
        Ok(match status {
            Status::Granted => {
                self.push_outbox(waiting);
                Captured::Queued
            }
            Status::NotAsked if self.limits.buffer > 0 => {
                while self.buffer.len() >= self.limits.buffer {
                    self.buffer.pop_front();
                    self.overflowed += 1;
                }
                self.buffer.push_back(waiting);
                Captured::Buffered
            }
            Status::NotAsked | Status::Denied => Captured::Dropped,
        })
    }

    fn push_outbox(&mut self, item: Waiting) {
        self.outbox_bytes += item.bytes;
        self.outbox.push_back(item);
        self.enforce_outbox_bounds();
    }

    /// Drops the oldest events until the outbox fits its count and byte bounds.
    fn enforce_outbox_bounds(&mut self) {
        while self.outbox.len() > self.limits.outbox.max(1) || self.outbox_bytes > self.limits.outbox_bytes {
            let Some(gone) = self.outbox.pop_front() else { break };
            self.outbox_bytes -= gone.bytes;
            self.overflowed += 1;
        }
    }

    fn recount(&mut self) {
        self.outbox_bytes = self.outbox.iter().map(|w| w.bytes).sum();
    }

    fn remember_delivered(&mut self, purpose: PurposeId, id: String) {
        if !self.delivered.iter().any(|(_, known)| *known == id) {
            self.delivered.push_back((purpose, id));
            while self.delivered.len() > MAX_DELIVERED_IDS {
                self.delivered.pop_front();
            }
        }
    }

    /// Merges the queue another tab (or an earlier page) left in storage with this tab's outbox:
    /// the union of both, minus every id known delivered (here or in `stored_delivered`) and
    /// those on their way from this tab. Events are kept in capture order; ids never repeat.
    pub fn merge_stored(&mut self, stored: Vec<Event>, stored_delivered: Vec<(PurposeId, String)>) {
        for (purpose, id) in stored_delivered {
            self.remember_delivered(purpose, id);
        }
        let done: HashSet<String> = self
            .delivered
            .iter()
            .map(|(_, id)| id.clone())
            .chain(self.in_flight_waiting().map(|w| w.event.id.clone()))
            .collect();
        let mut seen: HashSet<String> = HashSet::new();
        let mut merged: Vec<Waiting> = Vec::with_capacity(stored.len() + self.outbox.len());
        let candidates = self.outbox.drain(..).chain(stored.into_iter().map(Waiting::new));
        for waiting in candidates {
            let id = &waiting.event.id;
            if !done.contains(id.as_str()) && waiting.bytes <= MAX_EVENT_BYTES && seen.insert(id.clone()) {
                merged.push(waiting);
            }
        }
        merged.sort_by_key(capture_time);
        self.outbox = merged.into();
        self.recount();
        self.enforce_outbox_bounds();
    }

    /// Everything that must be in storage: queued and in-flight events (an in-flight event stays
    /// stored until the collector acknowledges it, so a crash mid-send loses nothing).
    pub fn to_store(&self) -> Vec<&Event> {
        // In flight first: those events were taken from the front of the outbox.
        self.in_flight_waiting().chain(self.outbox.iter()).map(|w| &w.event).collect()
    }

    /// Events known delivered, stored beside the queue so that other tabs drop their copies.
    pub fn delivered_ids(&self) -> &VecDeque<(PurposeId, String)> {
        &self.delivered
    }

    /// Applies a consent change: buffered events of granted purposes join the outbox (keeping
    /// their capture time), and every waiting event whose purpose is no longer granted is gone.
    ///
    /// `status_of(purpose, ts)` is the status that applies to an event of `purpose` captured at
    /// `ts`: the engine answers "denied" for events captured before the purpose's last
    /// withdrawal, so a re-grant never brings them back.
    pub fn apply_consent(&mut self, status_of: impl Fn(&PurposeId, Millis) -> Status) {
        let mut still_undecided = VecDeque::new();
        for waiting in self.buffer.drain(..) {
            match status_of(&waiting.event.purpose, waiting.event.ts) {
                Status::Granted => {
                    self.outbox_bytes += waiting.bytes;
                    self.outbox.push_back(waiting);
                }
                Status::NotAsked => still_undecided.push_back(waiting),
                Status::Denied => {}
            }
        }
        self.buffer = still_undecided;
        let granted = |w: &Waiting| status_of(&w.event.purpose, w.event.ts) == Status::Granted;
        self.outbox.retain(granted);
        self.outbox.make_contiguous().sort_by_key(capture_time);
        self.recount();
        self.enforce_outbox_bounds();
        for batch in self.in_flight.values_mut() {
            let before = batch.waiting.len();
            batch.waiting.retain(granted);
            batch.revoked |= batch.waiting.len() < before;
        }
        // Delivered ids are kept only for purposes still granted (they point at rows of the
        // collector, so they are the purpose's data too).
        self.delivered.retain(|(purpose, _)| status_of(purpose, Millis(u64::MAX)) == Status::Granted);
    }

    fn in_flight_waiting(&self) -> impl Iterator<Item = &Waiting> {
        self.in_flight.values().flat_map(|b| b.waiting.iter())
    }

    /// Whether a batch on its way carries an event whose purpose was withdrawn since it was
    /// taken (the request should be aborted).
    pub fn in_flight_revoked(&self, batch: u64) -> bool {
        self.in_flight.get(&batch).is_some_and(|b| b.revoked)
    }

    /// The events of a batch on its way, exactly as they were sent.
    pub fn sent_events(&self, batch: u64) -> &[Event] {
        self.in_flight.get(&batch).map_or(&[], |b| &b.sent)
    }

    /// Records the events of `batch` as they were sent (with the ids the engine added).
    pub fn record_sent(&mut self, batch: u64, sent: Vec<Event>) {
        if let Some(b) = self.in_flight.get_mut(&batch) {
            b.sent = sent;
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
        self.recount();
        let budget = max_bytes.saturating_sub(ENVELOPE_BYTES);
        let mut used = 0;
        let mut taken = Vec::new();
        while let Some(next) = self.outbox.front() {
            if taken.len() >= max_events || used + next.bytes + 1 > budget {
                break;
            }
            used += next.bytes + 1;
            let waiting = self.outbox.pop_front().expect("front exists");
            self.outbox_bytes -= waiting.bytes;
            taken.push(waiting);
        }
        if taken.is_empty() {
            return None;
        }
        let id = self.next_batch;
        self.next_batch += 1;
        let events: Vec<Event> = taken.iter().map(|w| w.event.clone()).collect();
        self.in_flight.insert(id, InFlight { waiting: taken, sent: events.clone(), revoked: false });
        Some((id, events))
    }

    /// The collector stored the batch.
    pub fn ack(&mut self, batch: u64) {
        self.drop_batch(batch);
    }

    /// The batch did not arrive: its events (those still granted) go back to the front.
    pub fn fail(&mut self, batch: u64) {
        if let Some(batch) = self.in_flight.remove(&batch) {
            for waiting in batch.waiting.into_iter().rev() {
                self.outbox_bytes += waiting.bytes;
                self.outbox.push_front(waiting);
            }
            self.enforce_outbox_bounds();
        }
    }

    /// Forgets a batch's events for good (delivered, or refused by the collector), and remembers
    /// their ids so that no tab sends them again.
    pub fn drop_batch(&mut self, batch: u64) -> usize {
        let Some(batch) = self.in_flight.remove(&batch) else { return 0 };
        for event in batch.sent {
            self.remember_delivered(event.purpose, event.id);
        }
        batch.waiting.len()
    }

    /// Bytes of the events waiting in the outbox.
    pub fn queued_bytes(&self) -> usize {
        self.outbox_bytes
    }

    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    pub fn queued(&self) -> usize {
        self.outbox.len()
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.values().map(|b| b.waiting.len()).sum()
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
            pid: None,
        }
    }

    fn egress() -> Egress {
        Egress::new(Limits { buffer: 3, outbox: 100, outbox_bytes: MAX_QUEUED_BYTES })
    }

    #[test]
    fn undecided_events_wait_and_leave_with_their_capture_time_once_granted() {
        let mut e = egress();
        assert_eq!(e.capture(event(5, "analytics"), Status::NotAsked), Ok(Captured::Buffered));
        assert!(e.take_batch(|_| false, 10, MAX_BATCH_BYTES).is_none());
        e.apply_consent(|_, _| Status::Granted);
        let (_, batch) = e.take_batch(|_| true, 10, MAX_BATCH_BYTES).unwrap();
        assert_eq!(batch, vec![event(5, "analytics")]);
    }

    #[test]
    fn denial_drops_buffered_events() {
        let mut e = egress();
        e.capture(event(1, "analytics"), Status::NotAsked).unwrap();
        e.capture(event(2, "marketing"), Status::NotAsked).unwrap();
        e.apply_consent(|p, _| if p.as_str() == "analytics" { Status::Denied } else { Status::NotAsked });
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
        e.apply_consent(|_, _| Status::Granted);
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
        e.apply_consent(|_, _| Status::Denied);
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
    fn retries_back_off_exponentially_with_jitter_up_to_a_cap() {
        assert_eq!(next_send_delay(2000, 0, 0.7, None), 2000);
        assert_eq!(next_send_delay(2000, 1, 1.0, None), 4000);
        assert_eq!(next_send_delay(2000, 1, 0.0, None), 2000);
        assert_eq!(next_send_delay(2000, 3, 1.0, None), 16000);
        assert_eq!(next_send_delay(2000, 3, 0.5, None), 12000);
        assert_eq!(next_send_delay(2000, 40, 1.0, None), MAX_RETRY_DELAY_MS);
        assert_eq!(next_send_delay(120_000, 5, 1.0, None), 120_000, "never longer than the configured interval");
    }

    #[test]
    fn retry_after_is_honoured_up_to_a_cap() {
        assert_eq!(next_send_delay(2000, 1, 0.0, Some(30_000)), 30_000);
        assert_eq!(next_send_delay(2000, 1, 1.0, Some(1)), 4000, "never sooner than the back-off");
        assert_eq!(next_send_delay(2000, 1, 0.0, Some(u32::MAX)), MAX_RETRY_AFTER_MS);
    }

    #[test]
    fn the_outbox_is_bounded_by_bytes_dropping_the_oldest() {
        let one = serde_json::to_string(&event(0, "analytics")).unwrap().len();
        let mut e = Egress::new(Limits { buffer: 0, outbox: 100, outbox_bytes: 3 * one });
        for n in 0..5 {
            e.capture(event(n, "analytics"), Status::Granted).unwrap();
        }
        assert_eq!(e.queued(), 3);
        assert_eq!(e.overflowed, 2);
        let (_, batch) = e.take_batch(|_| true, 10, MAX_BATCH_BYTES).unwrap();
        assert_eq!(batch[0].ts, Millis(2));
    }

    #[test]
    fn merging_the_stored_queue_keeps_both_sides_and_drops_what_any_tab_delivered() {
        let mut e = egress();
        e.capture(event(1, "analytics"), Status::Granted).unwrap();
        e.capture(event(2, "analytics"), Status::Granted).unwrap();
        e.capture(event(3, "analytics"), Status::Granted).unwrap();
        // Another tab delivered event 1 and queued event 4; its copy of storage had not yet seen
        // event 3 (a stale read): event 3 must survive.
        let delivered = vec![(PurposeId::parse("analytics").unwrap(), event(1, "analytics").id)];
        e.merge_stored(vec![event(2, "analytics"), event(4, "analytics"), event(2, "analytics")], delivered);
        let stored: Vec<u64> = e.to_store().iter().map(|ev| ev.ts.0).collect();
        assert_eq!(stored, [2, 3, 4]);
        let (id, _) = e.take_batch(|_| true, 1, MAX_BATCH_BYTES).unwrap();
        e.ack(id);
        // A stale copy of storage still lists event 2: it is not brought back.
        e.merge_stored(vec![event(2, "analytics")], Vec::new());
        assert_eq!(e.to_store().iter().map(|ev| ev.ts.0).collect::<Vec<_>>(), [3, 4]);
        assert!(e.delivered_ids().iter().any(|(_, id)| *id == event(2, "analytics").id));
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
