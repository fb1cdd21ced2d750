//! Explanations: a result's score taken apart into its parts, by cause.

use super::{Plan, Recommender, Source};
use crate::recommend::signals::SignalKind;
use crate::recommend::simd::dot_i8;
use crate::recommend::{Reason, ReasonKind, Recommendation};

/// One part of a score, by catalogue index (made into a [`Reason`] only if shown).
struct Part {
    kind: ReasonKind,
    item: Option<u32>,
    tag: Option<u32>,
    signal: Option<SignalKind>,
    weight: f32,
}

impl Recommender {
    /// Takes one result's score apart into reasons (all of them, then the top three).
    pub(super) fn explain(
        &self,
        plan: &Plan,
        i: u32,
        score: f32,
        pinned: bool,
        all_parts: bool,
    ) -> (Recommendation, Vec<Reason>) {
        let parts = self.parts(plan, i);
        let mut top: Vec<&Part> = parts.iter().filter(|r| r.weight > 1e-6).collect();
        top.sort_unstable_by(|a, b| b.weight.total_cmp(&a.weight).then(a.kind.cmp(&b.kind)));
        // Strings only for what is shown (or asked for): a ranking has ~25 parts per result.
        let because = top.into_iter().take(3).map(|p| self.reason(p)).collect();
        let parts = if all_parts { parts.iter().map(|p| self.reason(p)).collect() } else { Vec::new() };
        let text = self.catalog.item(i);
        let rec = Recommendation {
            id: text.id.clone(),
            title: text.title.clone(),
            url: text.url.clone(),
            image: text.image.clone(),
            score,
            because,
            pinned,
        };
        (rec, parts)
    }

    fn reason(&self, p: &Part) -> Reason {
        let c = &self.catalog;
        Reason {
            kind: p.kind,
            item: p.item.map(|i| c.item(i).id.clone()),
            title: p.item.map(|i| c.item(i).title.clone()),
            signal: p.signal.map(SignalKind::name),
            tag: p.tag.map(|t| c.tag(t).to_owned()),
            weight: p.weight,
        }
    }

    /// Every part of item `i`'s score, merged by cause. They add up to the scan's score.
    fn parts(&self, plan: &Plan, i: u32) -> Vec<Part> {
        let c = &self.catalog;
        let s = &self.scratch;
        let w = self.config.weights;
        let u = i as usize;
        let mut parts: Vec<Part> = Vec::new();
        let mut add =
            |kind: ReasonKind, item: Option<u32>, tag: Option<u32>, signal: Option<SignalKind>, weight: f32| {
                if weight == 0.0 || !weight.is_finite() {
                    return;
                }
                match parts.iter_mut().find(|r| r.kind == kind && r.item == item && r.tag == tag) {
                    Some(r) => r.weight += weight,
                    None => parts.push(Part { kind, item, tag, signal, weight }),
                }
            };
        let source_kind = |src: &Source| if src.context { ReasonKind::Context } else { ReasonKind::History };
        let source_signal = |src: &Source| (!src.context).then_some(src.signal);
        add(ReasonKind::Popular, None, c.category[u], None, w.popularity * c.popularity[u]);
        // Neighbours: each source's link to this item.
        let mut neighbour_sum = 0f32;
        if let Some(nbrs) = &self.neighbours {
            for src in plan.sources.iter().filter(|src| src.share != 0.0) {
                if let Some((_, link)) = nbrs.of(src.item).find(|(j, _)| *j == i) {
                    let part = w.neighbours * src.share * link;
                    neighbour_sum += part;
                    add(source_kind(src), Some(src.item), None, source_signal(src), part);
                }
            }
        }
        // What is left of the bonus is item rules (and float noise from the sums' order).
        let rest = s.bonus[u] - neighbour_sum;
        if rest.abs() > 1e-6 {
            add(ReasonKind::Promoted, Some(i), None, None, rest);
        }
        let norm = c.tag_norm[u];
        for &t in c.tag_slice(i) {
            let from = plan.affinity.partition_point(|a| a.0 .0 < t);
            for &((_, origin), a) in plan.affinity[from..].iter().take_while(|a| a.0 .0 == t) {
                match origin {
                    // Shares a tag with the product on screen: "similar to X".
                    Some(item) => add(ReasonKind::Context, Some(item), None, None, w.tags * a * norm),
                    None => add(ReasonKind::Interest, None, Some(t), None, w.tags * a * norm),
                }
            }
            if let Some((_, p)) = plan.stated.iter().find(|p| p.0 == t) {
                add(ReasonKind::Stated, None, Some(t), None, w.stated * p * norm);
            }
            add(ReasonKind::Promoted, None, Some(t), None, s.tag_boost[t as usize]);
        }
        // Embedding: the scan's value, split over the sources by their share of the dot product.
        if plan.has_visitor && c.emb_scale[u] != 0.0 {
            let (q, scale) = c.embedding(i).expect("has an embedding");
            let total = w.embedding * plan.visitor_scale * scale * dot_i8(&s.visitor, q) as f32;
            let in_profile = |src: &&Source| !(src.context && plan.cart);
            let dot = dot_against(q);
            let shares: Vec<(&Source, f32)> = plan
                .sources
                .iter()
                .filter(in_profile)
                .filter_map(|src| {
                    let (qs, ss) = c.embedding(src.item)?;
                    Some((src, src.weight * ss * scale * dot(qs) as f32))
                })
                .collect();
            let sum: f32 = shares.iter().map(|x| x.1).sum();
            if sum.abs() > 1e-6 {
                for (src, share) in shares {
                    add(source_kind(src), Some(src.item), None, source_signal(src), total * share / sum);
                }
            } else if let Some((src, _)) = shares.first() {
                add(source_kind(src), Some(src.item), None, source_signal(src), total);
            }
        }
        parts
    }
}

/// `dot_i8(q, ·)` for many vectors against one: with SIMD128 and 64 dimensions, `q` is widened
/// once and each product is straight-line (the same integer either way).
fn dot_against(q: &[i8]) -> impl Fn(&[i8]) -> i32 + '_ {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let wide = (q.len() == 64).then(|| crate::recommend::simd::widen_64(q));
    move |other: &[i8]| {
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        if let (Some(wide), 64) = (&wide, other.len()) {
            // SAFETY: `other` has 64 readable bytes.
            return unsafe { crate::recommend::simd::dot_64(wide, other.as_ptr()) };
        }
        dot_i8(q, other)
    }
}
