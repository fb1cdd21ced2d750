//! The hybrid ranker.
//!
//! For a request, the visitor's signals become *sources* (items with a weight: what they did,
//! faded by a half-life) and, for `similar` and `cart`, the context items join them. Each item's
//! score is then the sum of
//!
//! - **neighbours**: `w.neighbours × Σ_sources share(source) × link(source → item)`, where a
//!   source's share falls with its recency rank (`recencyDecay`) among the `recentItems` newest;
//! - **tags**: `w.tags × Σ_{tag ∈ item} affinity(tag) / √|tags(item)|`, affinity being the
//!   sources' weight spread over their tags;
//! - **embedding**: `w.embedding × cos(visitor vector, item)`, the visitor vector being the
//!   weighted sum of the sources' unit embeddings;
//! - **stated**: `w.stated × Σ_{tag ∈ item} stated(tag) / √|tags(item)|`;
//! - **popularity**: `w.popularity × prior(item)`;
//! - **rules**: boosts (negative: bury).
//!
//! The scan over the catalogue reads only flat columns (flags, prior, tags, `i8` embeddings) and
//! reuses its buffers, so a ranking allocates nothing that grows with the catalogue. The top
//! candidates are then re-ranked for diversity (MMR), pins are placed, and each result's score
//! is taken apart into reasons.

use super::catalog::Catalog;
use super::catalog::FastMap;
use super::config::{RecConfig, RuleAction, RuleTarget};
use super::neighbours::Neighbours;
use super::signals::{SignalKind, Signals};
use super::simd::dot_i8;
use super::{RankRequest, Reason, RecError, Recommendation, Slot, MAX_K};
use crate::time::Millis;
use std::collections::BTreeMap;

/// A catalogue, its neighbours and the ranking config, with the buffers rankings reuse.
#[derive(Clone, Debug, Default)]
pub struct Recommender {
    pub catalog: Catalog,
    pub neighbours: Option<Neighbours>,
    pub config: RecConfig,
    scratch: Scratch,
    /// Tests only: never take the SIMD fast path, to compare it with the general scan.
    generic_only: bool,
    /// Scan only this many items (the warm-up), `None`: all.
    scan_limit: Option<usize>,
}

#[derive(Clone, Debug, Default)]
struct Scratch {
    /// Per item: neighbour and item-rule parts; non-zero only at `touched`.
    bonus: Vec<f32>,
    touched: Vec<u32>,
    /// Per item: excluded by this request; non-zero only at `masked`.
    mask: Vec<u8>,
    masked: Vec<u32>,
    /// Per tag: the visitor's weight (affinity and stated, before `1/√|tags|`) and boosts.
    tag_weight: Vec<f32>,
    tag_boost: Vec<f32>,
    /// Per tag: 1 blocked (muted or excluded), 2 one of the wanted tags.
    tag_flags: Vec<u8>,
    heap: Vec<(f32, u32)>,
    /// The visitor vector, quantised like the catalogue's embeddings (empty: none), and its scale.
    visitor: Vec<i8>,
    visitor_scale: f32,
}

const BLOCKED: u8 = 1;
const WANTED: u8 = 2;

/// Something that counts for the visitor: an item they interacted with, or a context item.
#[derive(Clone, Debug)]
struct Source {
    item: u32,
    /// The item is in the request's context (rather than the visitor's history).
    context: bool,
    /// What the visitor did with it, for the wording ("viewed", "bought").
    signal: SignalKind,
    /// Weight in the tag and embedding parts.
    weight: f32,
    /// Weight in the neighbours part (recency-ranked), already normalised.
    share: f32,
}

/// Everything a request's scores are made of, kept to explain the results.
struct Plan {
    sources: Vec<Source>,
    /// Per tag (sparse): affinity before the weights, by where it came from — the visitor's
    /// history (`None`: an inferred interest) or a context item (the product on screen).
    affinity: Vec<((u32, Option<u32>), f32)>,
    /// Per tag (sparse): stated preference, before the weight.
    stated: Vec<(u32, f32)>,
    /// The visitor vector's scale and sources' parts in it.
    visitor_scale: f32,
    has_visitor: bool,
    /// Made for the cart slot: context items count only through their neighbours.
    cart: bool,
}

impl Recommender {
    pub fn new(catalog: Catalog, neighbours: Option<Neighbours>, config: RecConfig) -> Recommender {
        Recommender { catalog, neighbours, config, scratch: Scratch::default(), generic_only: false, scan_limit: None }
    }

    /// Ranks a small part of the catalogue a few times for a made-up visitor, so the browser
    /// compiles the scan's optimised code now rather than during the first real ranking (a
    /// first 100k-item scan in baseline code blocks for tens of milliseconds). About a
    /// millisecond; nothing is kept.
    pub fn warm_up(&mut self, now: Millis) {
        let sample: Vec<String> =
            (0..self.catalog.len().min(3) as u32).map(|i| self.catalog.item(i).id.clone()).collect();
        let mut signals = Signals::default();
        for id in &sample {
            signals.record(&self.config, id, SignalKind::View, None, now);
        }
        self.scan_limit = Some(1000);
        let request = RankRequest { k: 10, ..Default::default() };
        for _ in 0..3 {
            let _ = self.rank(&signals, &[], &request, now);
        }
        self.scan_limit = None;
    }

    /// For tests: rank with the general scan only (the SIMD fast path is an optimisation of it
    /// and must give the same results).
    #[doc(hidden)]
    pub fn set_generic_scan_only(&mut self, on: bool) {
        self.generic_only = on;
    }

    /// Records a signal the way the browser does (the offline replay calls this too).
    pub fn record(&self, signals: &mut Signals, item: &str, kind: SignalKind, ratio: Option<f32>, at: Millis) {
        signals.record(&self.config, item, kind, ratio, at);
    }

    /// Ranks the catalogue for one visitor. `stated` are tags from the visitor's answers with
    /// their weight.
    pub fn rank(
        &mut self,
        signals: &Signals,
        stated: &[(String, f32)],
        req: &RankRequest,
        now: Millis,
    ) -> Result<Vec<Recommendation>, RecError> {
        Ok(self.rank_inner(signals, stated, req, now, false)?.into_iter().map(|(r, _)| r).collect())
    }

    /// [`Recommender::rank`], each result with *all* the parts of its score (negative ones
    /// included), which add up to the score.
    pub fn rank_explained(
        &mut self,
        signals: &Signals,
        stated: &[(String, f32)],
        req: &RankRequest,
        now: Millis,
    ) -> Result<Vec<(Recommendation, Vec<Reason>)>, RecError> {
        self.rank_inner(signals, stated, req, now, true)
    }

    fn rank_inner(
        &mut self,
        signals: &Signals,
        stated: &[(String, f32)],
        req: &RankRequest,
        now: Millis,
        all_parts: bool,
    ) -> Result<Vec<(Recommendation, Vec<Reason>)>, RecError> {
        if !(1..=MAX_K).contains(&req.k) {
            return Err(RecError::invalid("k", format!("expected a whole number from 1 to {MAX_K}, found {}", req.k)));
        }
        let n = self.catalog.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let context: Vec<u32> = req.context.iter().filter_map(|id| self.catalog.position(id)).collect();
        if req.slot == Slot::Similar && context.is_empty() {
            let id = req.context.first().cloned().unwrap_or_default();
            return Err(RecError::UnknownItem { field: "context".into(), id });
        }
        self.prepare(n);
        let plan = self.plan(signals, stated, &context, req, now);
        self.fill(&plan, signals, &context, req);
        let candidates = self.scan(req);
        let mut picked = self.diversify(candidates, req.k);
        let pinned = self.place_pins(&mut picked, req);
        let out =
            picked.iter().map(|&(score, i)| self.explain(&plan, i, score, pinned.contains(&i), all_parts)).collect();
        self.clear();
        Ok(out)
    }

    fn prepare(&mut self, n: usize) {
        let s = &mut self.scratch;
        s.bonus.resize(n, 0.0);
        s.mask.resize(n, 0);
        let tags = self.catalog.tags.len();
        s.tag_weight.clear();
        s.tag_weight.resize(tags, 0.0);
        s.tag_boost.clear();
        s.tag_boost.resize(tags, 0.0);
        s.tag_flags.clear();
        s.tag_flags.resize(tags, 0);
    }

    fn clear(&mut self) {
        let s = &mut self.scratch;
        for &i in &s.touched {
            s.bonus[i as usize] = 0.0;
        }
        for &i in &s.masked {
            s.mask[i as usize] = 0;
        }
        s.touched.clear();
        s.masked.clear();
    }

    /// Turns signals and context into weighted sources, tag affinities and the visitor vector.
    fn plan(
        &mut self,
        signals: &Signals,
        stated: &[(String, f32)],
        context: &[u32],
        req: &RankRequest,
        now: Millis,
    ) -> Plan {
        let c = &self.catalog;
        let config = &self.config;
        // Per item: summed weight, newest time (then newest place in the history: signals at the
        // same millisecond count in the order they were recorded), strongest signal.
        let mut by_item: FastMap<u32, (f32, (Millis, usize), SignalKind, f32)> = FastMap::default();
        for (place, s) in signals.history.iter().enumerate() {
            let Some(i) = c.position(&s.item) else { continue };
            let w = s.faded_weight(config, now);
            let e = by_item.entry(i).or_insert((0.0, (s.at, place), s.kind, 0.0));
            e.0 += w;
            e.1 = e.1.max((s.at, place));
            if w.abs() > e.3.abs() {
                e.2 = s.kind;
                e.3 = w;
            }
        }
        let mut history: Vec<(u32, f32, (Millis, usize), SignalKind)> = by_item
            .into_iter()
            .filter(|(_, e)| e.0.is_finite() && e.0 != 0.0)
            .map(|(i, e)| (i, e.0, e.1, e.2))
            .collect();
        history.sort_unstable_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));

        let mut sources: Vec<Source> = Vec::new();
        let context_weight = config.weights.context;
        for &i in context {
            if !sources.iter().any(|s| s.item == i) {
                sources.push(Source {
                    item: i,
                    context: true,
                    signal: SignalKind::View,
                    weight: context_weight,
                    share: 1.0,
                });
            }
        }
        let mut rank = 0;
        for (i, w, _, signal) in history {
            if sources.iter().any(|s| s.item == i) {
                continue;
            }
            let share = if rank < config.recent_items { w * config.recency_decay.powi(rank as i32) } else { 0.0 };
            rank += 1;
            sources.push(Source { item: i, context: false, signal, weight: w, share });
        }
        let total_share: f32 = sources.iter().map(|s| s.share.abs()).sum();
        if total_share > 0.0 {
            for s in &mut sources {
                s.share /= total_share;
            }
        }
        // The cart's items count only through their neighbours (complements, not look-alikes).
        let in_profile = |s: &Source| !(s.context && req.slot == Slot::Cart);
        let total_weight: f32 = sources.iter().filter(|s| in_profile(s)).map(|s| s.weight.abs()).sum();
        let mut affinity: BTreeMap<(u32, Option<u32>), f32> = BTreeMap::new();
        if total_weight > 0.0 {
            for s in sources.iter().filter(|s| in_profile(s)) {
                let tags = c.tag_slice(s.item);
                for &t in tags {
                    let origin = s.context.then_some(s.item);
                    *affinity.entry((t, origin)).or_default() += s.weight / total_weight / tags.len() as f32;
                }
            }
        }
        let affinity: Vec<((u32, Option<u32>), f32)> = affinity.into_iter().collect();
        let mut stated_tags: Vec<(u32, f32)> = Vec::new();
        for (tag, w) in stated {
            if let (Some(t), true) = (c.tag_position(tag), w.is_finite()) {
                match stated_tags.iter_mut().find(|s| s.0 == t) {
                    Some(s) => s.1 += w,
                    None => stated_tags.push((t, *w)),
                }
            }
        }
        stated_tags.sort_unstable_by_key(|s| s.0);

        // The visitor vector: Σ weight × unit embedding, quantised for the scan.
        let dim = c.dim;
        let mut visitor = vec![0f32; dim];
        let mut any = false;
        for s in sources.iter().filter(|s| in_profile(s)) {
            if let Some((q, scale)) = c.embedding(s.item) {
                any = true;
                for (v, x) in visitor.iter_mut().zip(q) {
                    *v += s.weight * scale * f32::from(*x);
                }
            }
        }
        let quantized = if any { super::catalog::quantize(&visitor) } else { None };
        let (has_visitor, visitor_scale) = match quantized {
            Some((q, scale)) => {
                self.scratch.visitor = q;
                self.scratch.visitor_scale = scale;
                (true, scale)
            }
            None => {
                self.scratch.visitor.clear();
                (false, 0.0)
            }
        };
        Plan { sources, affinity, stated: stated_tags, visitor_scale, has_visitor, cart: req.slot == Slot::Cart }
    }

    /// Writes the plan into the per-item and per-tag buffers the scan reads.
    fn fill(&mut self, plan: &Plan, signals: &Signals, context: &[u32], req: &RankRequest) {
        let c = &self.catalog;
        let config = &self.config;
        let s = &mut self.scratch;
        let w = config.weights;
        for &((t, _), a) in &plan.affinity {
            s.tag_weight[t as usize] += w.tags * a;
        }
        for &(t, a) in &plan.stated {
            s.tag_weight[t as usize] += w.stated * a;
        }
        for tag in signals.muted().chain(req.no_tags.iter().map(String::as_str)) {
            if let Some(t) = c.tag_position(tag) {
                s.tag_flags[t as usize] |= BLOCKED;
            }
        }
        for tag in &req.any_tags {
            if let Some(t) = c.tag_position(tag) {
                s.tag_flags[t as usize] |= WANTED;
            }
        }
        if let Some(nbrs) = &self.neighbours {
            for src in plan.sources.iter().filter(|src| src.share != 0.0) {
                // (A sidecar read for another catalogue could point past this one.)
                for (j, link) in nbrs.of(src.item).filter(|(j, _)| (*j as usize) < c.len()) {
                    let b = &mut s.bonus[j as usize];
                    if *b == 0.0 {
                        s.touched.push(j);
                    }
                    // (A sum that cancels to zero and grows again is listed twice: harmless.)
                    *b += w.neighbours * src.share * link;
                }
            }
        }
        for rule in config.rules.iter().filter(|r| r.slots.is_empty() || r.slots.contains(&req.slot)) {
            let RuleAction::Boost(by) = rule.action else { continue };
            match &rule.target {
                RuleTarget::Tag(tag) => {
                    if let Some(t) = c.tag_position(tag) {
                        s.tag_boost[t as usize] += by;
                    }
                }
                RuleTarget::Item(id) => {
                    if let Some(j) = c.position(id) {
                        if s.bonus[j as usize] == 0.0 {
                            s.touched.push(j);
                        }
                        s.bonus[j as usize] += by;
                    }
                }
            }
        }
        let mut mask = |i: u32| {
            if s.mask[i as usize] == 0 {
                s.masked.push(i);
            }
            s.mask[i as usize] = 1;
        };
        for id in &req.exclude {
            if let Some(i) = c.position(id) {
                mask(i);
            }
        }
        if req.slot != Slot::Home {
            for &i in context {
                mask(i);
            }
        }
        let include_seen = req.include_seen.unwrap_or(req.slot != Slot::Home);
        for sig in &signals.history {
            if let Some(i) = c.position(&sig.item) {
                if !include_seen || sig.kind.excludes() {
                    mask(i);
                }
            }
        }
    }

    /// Maximal marginal relevance: trades a little score for items unlike those already picked.
    fn diversify(&self, candidates: Vec<(f32, u32)>, k: usize) -> Vec<(f32, u32)> {
        let d = self.config.diversity;
        if d <= 0.0 || candidates.len() <= 1 {
            let mut c = candidates;
            c.truncate(k);
            return c;
        }
        let (hi, lo) = (candidates[0].0, candidates[candidates.len() - 1].0);
        let span = (hi - lo).max(1e-6);
        let mut left = candidates;
        let mut picked: Vec<(f32, u32)> = Vec::with_capacity(k);
        let mut max_sim = vec![0f32; left.len()];
        while picked.len() < k && !left.is_empty() {
            let best = (0..left.len())
                .max_by(|&a, &b| {
                    let value = |x: usize| (1.0 - d) * (left[x].0 - lo) / span - d * max_sim[x];
                    value(a).total_cmp(&value(b)).then(b.cmp(&a))
                })
                .expect("not empty");
            let chosen = left.remove(best);
            max_sim.remove(best);
            for (x, m) in left.iter().zip(max_sim.iter_mut()) {
                *m = m.max(self.similarity(chosen.1, x.1));
            }
            picked.push(chosen);
        }
        picked
    }

    /// How alike two items are, from 0 to 1: shared tags and embeddings.
    fn similarity(&self, a: u32, b: u32) -> f32 {
        let c = &self.catalog;
        let (ta, tb) = (c.tag_slice(a), c.tag_slice(b));
        let shared = ta.iter().filter(|t| tb.contains(t)).count() as f32;
        let tags = shared * c.tag_norm[a as usize] * c.tag_norm[b as usize];
        match (c.embedding(a), c.embedding(b)) {
            (Some((qa, sa)), Some((qb, sb))) => {
                let cos = (dot_i8(qa, qb) as f32 * sa * sb).max(0.0);
                if ta.is_empty() || tb.is_empty() {
                    cos
                } else {
                    (tags + cos) / 2.0
                }
            }
            _ => tags,
        }
    }

    /// Puts pinned items of this slot at their positions (if they pass the request's filters).
    fn place_pins(&self, picked: &mut Vec<(f32, u32)>, req: &RankRequest) -> Vec<u32> {
        let mut pinned = Vec::new();
        let c = &self.catalog;
        let s = &self.scratch;
        for rule in self.config.rules.iter().filter(|r| r.slots.is_empty() || r.slots.contains(&req.slot)) {
            let (RuleAction::Pin(at), RuleTarget::Item(id)) = (&rule.action, &rule.target) else { continue };
            let Some(i) = c.position(id) else { continue };
            let blocked = c.tag_slice(i).iter().any(|t| s.tag_flags[*t as usize] & BLOCKED != 0);
            let wanted =
                req.any_tags.is_empty() || c.tag_slice(i).iter().any(|t| s.tag_flags[*t as usize] & WANTED != 0);
            let available = req.include_unavailable || c.is_available(i);
            if s.mask[i as usize] != 0 || blocked || !wanted || !available {
                continue;
            }
            let score = match picked.iter().position(|p| p.1 == i) {
                Some(p) => picked.remove(p).0,
                None => self.score_of(i),
            };
            picked.insert((*at).min(picked.len()), (score, i));
            pinned.push(i);
        }
        picked.truncate(req.k);
        pinned
    }

    /// The scan's score for one item (for an item pinned from outside the candidates).
    fn score_of(&self, i: u32) -> f32 {
        let c = &self.catalog;
        let s = &self.scratch;
        let w = self.config.weights;
        let u = i as usize;
        let (affinity, boost) = c
            .tag_slice(i)
            .iter()
            .fold((0f32, 0f32), |(a, b), &t| (a + s.tag_weight[t as usize], b + s.tag_boost[t as usize]));
        let mut score = w.popularity * c.popularity[u] + s.bonus[u] + affinity * c.tag_norm[u] + boost;
        if !s.visitor.is_empty() && c.emb_scale[u] != 0.0 {
            let dot = dot_i8(&s.visitor, &c.emb[u * c.dim..(u + 1) * c.dim]);
            score += w.embedding * s.visitor_scale * c.emb_scale[u] * dot as f32;
        }
        score
    }
}

mod explain;
mod scan;
