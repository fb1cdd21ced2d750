//! What the prompt triggers look at, counted on the device: the visitor's session number, when
//! the session started, page views in it, and the events some trigger waits for.
//!
//! Kept only while a question's purpose is granted (the engine drops it otherwise), and kept
//! minimal: an event is remembered only if it matches the trigger of a question whose purpose is
//! granted, with only the props that trigger filters on, for at most [`EVENT_TTL_MS`].

use super::config::ProfilingConfig;
use super::scheduler::{Context, SeenEvent};
use crate::purpose::PurposeId;
use crate::time::Millis;
use serde::Serialize;
use serde_json::{Map, Value};

/// A new session starts after this long without a page view or event (the usual analytics rule).
pub const SESSION_GAP_MS: u64 = 30 * 60 * 1000;
/// Events older than this no longer count towards a trigger.
pub const EVENT_TTL_MS: u64 = 30 * Millis::DAY;
/// At most this many events are remembered (the oldest go first).
pub const MAX_EVENTS: usize = 200;

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Visit {
    /// 1 for the first session; 0 before anything was counted.
    pub session: u32,
    pub session_start: Millis,
    pub last_seen: Millis,
    /// Page views in this session.
    pub page_views: u32,
    pub events: Vec<SeenEvent>,
}

impl Visit {
    /// Activity at `now`: a new session after [`SESSION_GAP_MS`] of quiet. A clock that went
    /// back neither starts a session nor moves `last_seen` back.
    fn touch(&mut self, now: Millis) {
        if self.session == 0 || now.0 > self.last_seen.0.saturating_add(SESSION_GAP_MS) {
            self.session = self.session.saturating_add(1);
            self.session_start = now;
            self.page_views = 0;
        }
        self.last_seen = self.last_seen.max(now);
    }

    /// Starts counting at `now` (session 1), with this page counted if it was viewed.
    pub fn start(&mut self, now: Millis, page_seen: bool) {
        self.touch(now);
        self.page_views = u32::from(page_seen);
    }

    pub fn page_view(&mut self, now: Millis) {
        self.touch(now);
        self.page_views = self.page_views.saturating_add(1);
    }

    /// Remembers a tracked event if it matches the event trigger of a question whose purpose is
    /// granted, keeping only the props that trigger filters on (whose values are the config's own).
    pub fn event(
        &mut self,
        config: &ProfilingConfig,
        granted: &dyn Fn(&PurposeId) -> bool,
        name: &str,
        props: &Map<String, Value>,
        now: Millis,
    ) {
        let mut kept = Map::new();
        let mut matched = false;
        for q in config.questions.iter().filter(|q| granted(&q.purpose)) {
            let Some(e) = q.trigger.event.as_ref().filter(|e| e.name == name) else { continue };
            if e.props.iter().all(|(k, v)| props.get(k) == Some(v)) {
                matched = true;
                kept.extend(e.props.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        if !matched {
            return;
        }
        self.touch(now);
        self.events.push(SeenEvent { name: name.to_owned(), props: kept, at: now });
        self.forget_old(now);
    }

    /// Drops events past their time to live (or beyond the cap).
    pub fn forget_old(&mut self, now: Millis) {
        self.events.retain(|e| e.at.0.saturating_add(EVENT_TTL_MS) > now.0);
        let excess = self.events.len().saturating_sub(MAX_EVENTS);
        self.events.drain(..excess);
    }

    /// The scheduler's view of the page: `path` and `interests` come from the page.
    pub fn context(&self, path: &str, interests: Vec<(String, f64)>) -> Context {
        Context {
            path: path.to_owned(),
            page_views: self.page_views,
            session: self.session,
            session_start: self.session_start,
            events: self.events.clone(),
            interests,
        }
    }

    /// Another tab's copy: the later session wins; within the same session, the larger counts;
    /// events are the union.
    pub fn merge(&mut self, other: &Visit) {
        match other.session.cmp(&self.session) {
            std::cmp::Ordering::Greater => {
                self.session = other.session;
                self.session_start = other.session_start;
                self.page_views = other.page_views;
            }
            std::cmp::Ordering::Equal => self.page_views = self.page_views.max(other.page_views),
            std::cmp::Ordering::Less => {}
        }
        self.last_seen = self.last_seen.max(other.last_seen);
        for e in &other.events {
            if !self.events.contains(e) {
                self.events.push(e.clone());
            }
        }
        self.events.sort_by_key(|e| e.at);
        self.forget_old(self.last_seen);
    }

    /// Reads the stored form; `None` if it is not a visit.
    pub fn decode(v: &Value) -> Option<Visit> {
        let n = |k: &str| v.get(k).and_then(Value::as_u64);
        let events = v
            .get("events")?
            .as_array()?
            .iter()
            .map(|e| {
                Some(SeenEvent {
                    name: e.get("name")?.as_str()?.to_owned(),
                    props: e.get("props")?.as_object()?.clone(),
                    at: Millis(e.get("at")?.as_u64()?),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Visit {
            session: u32::try_from(n("session")?).ok()?,
            session_start: Millis(n("sessionStart")?),
            last_seen: Millis(n("lastSeen")?),
            page_views: u32::try_from(n("pageViews")?).ok()?,
            events,
        })
    }
}
