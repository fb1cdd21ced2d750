//! The scan over the catalogue: every item that passes the request's filters, scored, the best
//! kept in a min-heap; and the SIMD fast path for its common case.

use super::{Recommender, BLOCKED, WANTED};
use crate::recommend::catalog::AVAILABLE;
use crate::recommend::config::{RecConfig, RuleAction};
use crate::recommend::simd::{dot_i8, touch_sum};
use crate::recommend::RankRequest;

impl Recommender {
    /// The memory-bandwidth floor for one scan: sums as many bytes as a ranking reads.
    pub fn bandwidth_probe(&self) -> u32 {
        let c = &self.catalog;
        touch_sum(i8_bytes(&c.emb))
            .wrapping_add(touch_sum(&c.flags))
            .wrapping_add(touch_sum(f32_bytes(&c.popularity)))
            .wrapping_add(touch_sum(f32_bytes(&c.emb_scale)))
            .wrapping_add(touch_sum(f32_bytes(&c.tag_norm)))
            .wrapping_add(touch_sum(u32_bytes(&c.tag_off)))
            .wrapping_add(touch_sum(u32_bytes(&c.tag_ids)))
    }

    /// The scan's common case — dim 64, a visitor vector, no wanted or blocked tags, no tag
    /// boosts — with the visitor widened once, a straight-line dot, bounds checked once up front
    /// and only the tag weights read. `None`: not the common case.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    fn scan_fast(&mut self, req: &RankRequest) -> Option<Vec<(f32, u32)>> {
        let c = &self.catalog;
        let s = &mut self.scratch;
        let n = self.scan_limit.unwrap_or(usize::MAX).min(c.len());
        if c.dim != 64
            || s.visitor.len() != 64
            || !req.any_tags.is_empty()
            || s.tag_boost.iter().any(|w| *w != 0.0)
            || s.tag_flags.iter().any(|f| *f != 0)
        {
            return None;
        }
        let keep =
            if self.config.diversity > 0.0 { (req.k * 3).max(req.k + 10) } else { req.k } + pins(&self.config, req);
        let w = self.config.weights;
        let need_available = !req.include_unavailable;
        let embedding_weight = w.embedding * s.visitor_scale;
        let wide = crate::recommend::simd::widen_64(&s.visitor);
        assert!(
            s.mask.len() >= n
                && s.bonus.len() >= n
                && c.flags.len() >= n
                && c.popularity.len() >= n
                && c.tag_norm.len() >= n
                && c.emb_scale.len() >= n
                && c.tag_off.len() > n
                && c.emb.len() >= n * 64
        );
        // Catalog::build interns every tag id below tags.len() (= tag_weight.len(), see prepare),
        // and tag_off is non-decreasing up to tag_ids.len().
        assert!(c.tag_off[n] as usize <= c.tag_ids.len() && s.tag_weight.len() == c.tags.len());
        let heap = &mut s.heap;
        heap.clear();
        let (mask, bonus, tw) = (&s.mask, &s.bonus, &s.tag_weight);
        for i in 0..n {
            // SAFETY: the indices below are within the lengths asserted above.
            unsafe {
                if *mask.get_unchecked(i) != 0 || (need_available && *c.flags.get_unchecked(i) & AVAILABLE == 0) {
                    continue;
                }
                let mut score = w.popularity * *c.popularity.get_unchecked(i) + *bonus.get_unchecked(i);
                let (lo, hi) = (*c.tag_off.get_unchecked(i) as usize, *c.tag_off.get_unchecked(i + 1) as usize);
                let mut affinity = 0f32;
                for k in lo..hi {
                    affinity += *tw.get_unchecked(*c.tag_ids.get_unchecked(k) as usize);
                }
                score += affinity * *c.tag_norm.get_unchecked(i);
                let scale = *c.emb_scale.get_unchecked(i);
                if scale != 0.0 {
                    let dot = crate::recommend::simd::dot_64(&wide, c.emb.as_ptr().add(i * 64));
                    score += embedding_weight * scale * dot as f32;
                }
                // An equal score never displaces a kept item: items come in index order.
                if heap.len() < keep || score > heap.get_unchecked(0).0 {
                    push(heap, keep, score, i as u32);
                }
            }
        }
        let mut out = heap.clone();
        out.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        Some(out)
    }

    /// The scan: every item that passes the filters, scored, the best kept in a min-heap.
    pub(super) fn scan(&mut self, req: &RankRequest) -> Vec<(f32, u32)> {
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        if !self.generic_only {
            if let Some(out) = self.scan_fast(req) {
                return out;
            }
        }
        let c = &self.catalog;
        let s = &mut self.scratch;
        let keep =
            if self.config.diversity > 0.0 { (req.k * 3).max(req.k + 10) } else { req.k } + pins(&self.config, req);
        let heap = &mut s.heap;
        heap.clear();
        let w = self.config.weights;
        let need_available = !req.include_unavailable;
        let any_wanted = !req.any_tags.is_empty();
        let tags_matter = any_wanted
            || s.tag_weight.iter().any(|w| *w != 0.0)
            || s.tag_boost.iter().any(|w| *w != 0.0)
            || s.tag_flags.iter().any(|f| *f != 0);
        let embedding_weight = if s.visitor.is_empty() { 0.0 } else { w.embedding * s.visitor_scale };
        let dim = c.dim;
        for i in 0..self.scan_limit.unwrap_or(usize::MAX).min(c.len()) {
            if s.mask[i] != 0 || (need_available && c.flags[i] & AVAILABLE == 0) {
                continue;
            }
            let mut score = w.popularity * c.popularity[i] + s.bonus[i];
            if tags_matter {
                let (mut affinity, mut boost, mut flags) = (0f32, 0f32, 0u8);
                for &t in &c.tag_ids[c.tag_off[i] as usize..c.tag_off[i + 1] as usize] {
                    affinity += s.tag_weight[t as usize];
                    boost += s.tag_boost[t as usize];
                    flags |= s.tag_flags[t as usize];
                }
                if flags & BLOCKED != 0 || (any_wanted && flags & WANTED == 0) {
                    continue;
                }
                score += affinity * c.tag_norm[i] + boost;
            }
            if embedding_weight != 0.0 && c.emb_scale[i] != 0.0 {
                let dot = dot_i8(&s.visitor, &c.emb[i * dim..(i + 1) * dim]);
                score += embedding_weight * c.emb_scale[i] * dot as f32;
            }
            push(heap, keep, score, i as u32);
        }
        let mut out = heap.clone();
        out.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        out
    }
}

fn pins(config: &RecConfig, req: &RankRequest) -> usize {
    config
        .rules
        .iter()
        .filter(|r| matches!(r.action, RuleAction::Pin(_)) && (r.slots.is_empty() || r.slots.contains(&req.slot)))
        .count()
}

/// Keeps the `keep` best (score, item) in a min-heap; ties keep the lower index.
fn push(heap: &mut Vec<(f32, u32)>, keep: usize, score: f32, i: u32) {
    let worse = |a: (f32, u32), b: (f32, u32)| a.0 < b.0 || (a.0 == b.0 && a.1 > b.1);
    if heap.len() < keep {
        heap.push((score, i));
        let mut k = heap.len() - 1;
        while k > 0 {
            let parent = (k - 1) / 2;
            if worse(heap[k], heap[parent]) {
                heap.swap(k, parent);
                k = parent;
            } else {
                break;
            }
        }
    } else if worse(heap[0], (score, i)) {
        heap[0] = (score, i);
        let mut k = 0;
        loop {
            let (l, r) = (2 * k + 1, 2 * k + 2);
            let mut m = k;
            if l < heap.len() && worse(heap[l], heap[m]) {
                m = l;
            }
            if r < heap.len() && worse(heap[r], heap[m]) {
                m = r;
            }
            if m == k {
                break;
            }
            heap.swap(k, m);
            k = m;
        }
    }
}

// The probe reads the columns as bytes.
// SAFETY (all three): plain-old-data slices viewed as bytes, same address and byte length;
// every bit pattern is a valid u8.
fn i8_bytes(v: &[i8]) -> &[u8] {
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), v.len()) }
}
fn f32_bytes(v: &[f32]) -> &[u8] {
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
}
fn u32_bytes(v: &[u32]) -> &[u8] {
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
}
