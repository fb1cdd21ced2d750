//! Getting events out: the persisted queue, the flush cycle under a cross-tab lock, retries,
//! aborts on withdrawal and the page-exit beacon. Every rule (what to send, when to retry,
//! what to drop) is the core's; this module only reads and writes storage, waits and sends.
//!
//! Tabs share `localStorage`: the queue, the pseudonymous ids and the egress log are re-read at
//! the start of every flush cycle, which runs under the Web Lock `attune:flush:<siteId>`, so
//! exactly one tab sends at a time and a tab that died leaves its queue to the next one.

use crate::browser::{is_online, now, soon, with_lock, Timer};
use crate::errors::{from_warning, js_error};
use crate::storage::{Fallback, Store};
use crate::transport::{beacon, post, InFlight};
use attune_core::egress::{MAX_BATCH_BYTES, MAX_BEACON_BYTES};
use attune_core::egress_log::SendOutcome;
use attune_core::engine::{Engine, NextSend, SendResult};
use attune_core::snapshot::{CONSENT_KEY, DEVICE_KEY, EGRESS_LOG_KEY, IDS_KEY, PROFILE_KEY, QUEUE_KEY, RECS_KEY};
use attune_core::Warning;
use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::AbortController;

/// An event listener the SDK added, kept so `destroy` can remove it.
pub type Listener = (web_sys::EventTarget, &'static str, Closure<dyn FnMut(web_sys::Event)>);

pub struct Inner {
    pub engine: Engine,
    pub store: Store,
    /// Empty once destroyed: nothing is sent afterwards.
    pub endpoint: String,
    pub lock_name: String,
    pub on_warning: Option<js_sys::Function>,
    /// Called when consent changed in another tab.
    pub on_consent_change: Option<js_sys::Function>,
    pub timer: Option<Timer>,
    pub in_flight: Option<InFlight>,
    /// A flush cycle is running (or waiting for the lock) in this tab.
    pub syncing: bool,
    /// Another cycle was asked for while one ran: `Some(send)`.
    pub again: Option<bool>,
    /// `flush()` callers waiting for a cycle that starts after their call to finish.
    pub waiters: Vec<js_sys::Function>,
    /// The last send failed while offline: wait for the `online` event.
    pub waiting_online: bool,
    /// The delay the core asked for before the next send.
    pub next_delay: Option<u32>,
    /// The consent document last read or written, to notice another tab's change.
    pub consent_seen: Option<String>,
    /// The profile document last read or written, likewise.
    pub profile_seen: Option<String>,
    /// The recommendation signals last read or written, likewise.
    pub recs_seen: Option<String>,
    /// Stripped properties already reported, so each is reported once per page.
    pub reported: HashSet<String>,
    pub listeners: Vec<Listener>,
    pub tick: Option<Closure<dyn FnMut()>>,
}

impl Inner {
    /// Reports a warning to the site's hook in a microtask: the SDK is busy (borrowed) while it
    /// finds warnings, and a hook that calls back into it must find it free.
    pub fn warn(&self, warning: JsValue) {
        match &self.on_warning {
            Some(callback) => soon(callback.bind1(&JsValue::NULL, &warning).unchecked_ref()),
            None => web_sys::console::warn_1(&warning),
        }
    }

    /// Whether failed sends are being retried with back-off (the collector is struggling).
    pub fn backing_off(&self) -> bool {
        self.engine.backing_off()
    }

    pub fn warn_all(&self, warnings: &[Warning]) {
        for w in warnings {
            self.warn(from_warning(w));
        }
    }

    pub(crate) fn write(&mut self, key: &str, value: Option<String>) {
        match value {
            Some(value) => {
                if let Some(Fallback(why)) = self.store.set(key, &value) {
                    self.warn(js_error("storage_unavailable", &format!("{why}; keeping state in memory"), None));
                }
            }
            None => self.store.remove(key),
        }
    }

    pub fn persist_consent(&mut self) {
        if let Some(snapshot) = self.engine.consent_snapshot() {
            self.write(CONSENT_KEY.name, Some(snapshot.clone()));
            self.consent_seen = Some(snapshot);
        }
    }

    /// Writes the queue (the union of what was stored and what this tab holds, see
    /// `Egress::merge_stored`), with the ids known delivered.
    pub fn persist_queue(&mut self) {
        let snapshot = self.engine.queue_snapshot(now());
        self.write(QUEUE_KEY.name, snapshot);
    }

    /// Rewrites the egress log if what this tab holds differs from what is stored (entries past
    /// their retention were purged on reading).
    pub fn persist_egress_log(&mut self) {
        let snapshot = self.engine.egress_log_snapshot();
        if snapshot != self.store.get(EGRESS_LOG_KEY.name) {
            self.write(EGRESS_LOG_KEY.name, snapshot);
        }
    }

    /// Writes the pseudonymous ids, the egress log and the profile.
    pub fn persist_state(&mut self) {
        let ids = self.engine.ids_snapshot();
        self.write(IDS_KEY.name, ids);
        let log = self.engine.egress_log_snapshot();
        self.write(EGRESS_LOG_KEY.name, log);
        self.persist_profile();
        self.persist_recs();
    }

    /// Merges the signals another tab stored since this one last looked.
    pub fn refresh_recs(&mut self) -> Option<String> {
        let stored = self.store.get(RECS_KEY.name);
        if stored != self.recs_seen {
            let warnings = self.engine.load_rec_signals(stored.as_deref(), now());
            self.warn_all(&warnings);
            self.recs_seen.clone_from(&stored);
        }
        stored
    }

    /// Writes the signals (merged with another tab's); removes the key once there are none,
    /// e.g. after personalization was withdrawn.
    pub fn persist_recs(&mut self) {
        // Never write under a consent this tab has not caught up with (a withdrawal elsewhere).
        self.reload_consent_if_changed();
        let stored = self.refresh_recs();
        let snapshot = self.engine.rec_signals_snapshot();
        if snapshot != stored {
            self.write(RECS_KEY.name, snapshot.clone());
        }
        self.recs_seen = snapshot;
    }

    /// Merges the profile another tab stored since this one last looked; returns what is stored.
    pub fn refresh_profile(&mut self) -> Option<String> {
        let stored = self.store.get(PROFILE_KEY.name);
        if stored != self.profile_seen {
            self.engine.merge_profile(stored.as_deref(), now());
            self.profile_seen.clone_from(&stored);
        }
        stored
    }

    /// Writes the profile, merged with what another tab stored since this one last looked.
    pub fn persist_profile(&mut self) {
        if !self.engine.has_prompts() {
            return;
        }
        let stored = self.refresh_profile();
        let snapshot = self.engine.profile_snapshot();
        if snapshot != stored {
            self.write(PROFILE_KEY.name, snapshot.clone());
        }
        self.profile_seen = snapshot;
    }

    /// Reads the device key (storage is its only truth: another tab may have made, replaced or
    /// removed it).
    pub fn load_device_key(&mut self) {
        let stored = self.store.get(DEVICE_KEY.name);
        let warnings = self.engine.load_device_key(stored.as_deref(), now());
        self.warn_all(&warnings);
    }

    /// Reads what other tabs may have changed: consent, the device key, the queue, ids and the
    /// egress log.
    pub fn load_shared(&mut self) {
        self.reload_consent_if_changed();
        self.load_device_key();
        let t = now();
        let queue = self.store.get(QUEUE_KEY.name);
        let mut warnings = self.engine.load_queue(queue.as_deref(), t);
        let ids = self.store.get(IDS_KEY.name);
        warnings.extend(self.engine.load_ids(ids.as_deref(), t));
        let log = self.store.get(EGRESS_LOG_KEY.name);
        warnings.extend(self.engine.load_egress_log(log.as_deref(), t));
        self.warn_all(&warnings);
    }

    /// After a consent change on a page without the prompt config: removes from the stored profile
    /// what consent no longer allows (with the config, the engine does it and it is persisted).
    pub fn prune_profile(&mut self) {
        if self.engine.has_prompts() {
            return;
        }
        let stored = self.store.get(PROFILE_KEY.name);
        if let Some(pruned) = stored.and_then(|s| self.engine.prune_stored_profile(&s, now())) {
            self.write(PROFILE_KEY.name, pruned);
        }
    }

    /// Picks up a consent change made in another tab. Returns whether consent changed.
    pub fn reload_consent_if_changed(&mut self) -> bool {
        let stored = self.store.get(CONSENT_KEY.name);
        if stored == self.consent_seen {
            return false;
        }
        let (changed, warnings) = self.engine.reload_consent(stored.as_deref(), now());
        self.consent_seen = stored;
        self.warn_all(&warnings);
        if changed {
            self.abort_if_revoked();
            self.prune_profile();
            self.persist_recs();
            if let Some(callback) = &self.on_consent_change {
                // In a microtask: the callback reads the SDK, which is busy until this call ends.
                soon(callback);
            }
        }
        changed
    }

    /// Cancels the request on its way if it carries events of a purpose no longer granted.
    pub fn abort_if_revoked(&mut self) {
        let Some(in_flight) = &self.in_flight else { return };
        if self.engine.should_abort(in_flight.batch, now()) {
            if let Some(controller) = &in_flight.controller {
                controller.abort();
            }
        }
    }
}

/// Runs a flush cycle: under the cross-tab lock, merge the stored queue with this tab's
/// captures, write it back, and (if `send`) send batches until the queue is empty or the core
/// says to wait.
pub async fn sync(weak: Weak<RefCell<Inner>>, send: bool) {
    let lock = {
        let Some(inner) = weak.upgrade() else { return };
        let mut state = inner.borrow_mut();
        if state.endpoint.is_empty() {
            return;
        }
        if state.syncing {
            state.again = Some(state.again.unwrap_or(false) || send);
            return;
        }
        state.syncing = true;
        if send {
            if let Some(timer) = state.timer.take() {
                timer.cancel();
            }
        }
        state.lock_name.clone()
    };
    with_lock(&lock, run(weak.clone(), send)).await;
    let Some(inner) = weak.upgrade() else { return };
    let (again, waiters) = {
        let mut state = inner.borrow_mut();
        state.syncing = false;
        let again = state.again.take();
        let waiters = if again.is_none() { std::mem::take(&mut state.waiters) } else { Vec::new() };
        (again, waiters)
    };
    match again {
        Some(send) => wasm_bindgen_futures::spawn_local(sync(weak, send)),
        None => schedule(&inner),
    }
    for resolve in waiters {
        let _ = resolve.call0(&JsValue::NULL);
    }
}

/// Sends what may leave now and resolves once a flush cycle that started after this call has
/// finished (if one is running, the next one, which it asks for).
pub async fn flush_now(weak: Weak<RefCell<Inner>>) {
    let waiting = {
        let Some(inner) = weak.upgrade() else { return };
        let mut state = inner.borrow_mut();
        state.waiting_online = false;
        if state.endpoint.is_empty() {
            return;
        }
        if state.syncing {
            state.again = Some(true);
            let mut register = |resolve: js_sys::Function, _reject: js_sys::Function| state.waiters.push(resolve);
            Some(js_sys::Promise::new(&mut register))
        } else {
            None
        }
    };
    match waiting {
        Some(promise) => {
            let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
        }
        None => sync(weak, true).await,
    }
}

async fn run(weak: Weak<RefCell<Inner>>, send: bool) {
    loop {
        let (batch, endpoint, controller) = {
            let Some(inner) = weak.upgrade() else { return };
            let mut state = inner.borrow_mut();
            if state.endpoint.is_empty() {
                return;
            }
            state.load_shared();
            if !send || !is_online() {
                state.waiting_online |= send;
                state.persist_queue();
                state.persist_state();
                return;
            }
            let batch = state.engine.take_batch(now(), MAX_BATCH_BYTES);
            // Written before the send: a crash mid-request leaves the events for the next page.
            state.persist_queue();
            state.persist_state();
            let Some(batch) = batch else { return };
            let controller = AbortController::new().ok();
            state.in_flight = Some(InFlight { batch: batch.id, controller: controller.clone() });
            (batch, state.endpoint.clone(), controller)
        };
        // No borrow or strong reference is held across the network wait.
        let result = post(&endpoint, &batch.body, controller.as_ref()).await;
        let Some(inner) = weak.upgrade() else { return };
        let mut state = inner.borrow_mut();
        state.in_flight = None;
        state.reload_consent_if_changed();
        let settled = state.engine.settle(batch.id, result, now());
        if let (SendOutcome::Refused, SendResult::Status { code, .. }) = (settled.outcome, result) {
            let message = format!("the collector refused a batch of {} events (HTTP {code})", batch.events);
            state.warn(js_error("batch_rejected", &message, None));
        }
        state.persist_queue();
        state.persist_state();
        match settled.next {
            NextSend::After(0) => continue,
            NextSend::After(ms) => {
                state.next_delay = Some(ms);
                return;
            }
            NextSend::WhenOnline => {
                state.waiting_online = true;
                return;
            }
        }
    }
}

/// Arms the flush timer if events are waiting and nothing else will send them.
pub fn schedule(inner: &Rc<RefCell<Inner>>) {
    let mut state = inner.borrow_mut();
    let (_, queued, _) = state.engine.pending();
    if queued == 0 || state.timer.is_some() || state.syncing || state.waiting_online || state.endpoint.is_empty() {
        return;
    }
    let delay = state.next_delay.take().unwrap_or(state.engine.config().egress.flush_interval_ms);
    let Some(tick) = state.tick.as_ref() else { return };
    let timer = Timer::start(tick.as_ref().unchecked_ref(), delay);
    state.timer = Some(timer);
}

/// The page is going away: no lock can be awaited now, so write the queue and hand what may
/// leave to `sendBeacon`, in batches of ≤ 64 KB. A batch the browser accepted counts as sent.
pub fn flush_with_beacon(inner: &Rc<RefCell<Inner>>) {
    let mut state = inner.borrow_mut();
    if state.endpoint.is_empty() {
        return;
    }
    state.load_shared();
    let endpoint = state.endpoint.clone();
    // While the collector is failing, leave the queue to the back-off (the next cycle or page):
    // a beacon would ignore `Retry-After` and count an accepted hand-off as delivered.
    if is_online() && !state.backing_off() {
        while let Some(batch) = state.engine.take_batch(now(), MAX_BEACON_BYTES) {
            let accepted = beacon(&endpoint, &batch.body);
            state.engine.settle(batch.id, SendResult::Beacon { accepted }, now());
            if !accepted {
                break;
            }
        }
    }
    state.persist_queue();
    state.persist_state();
}
