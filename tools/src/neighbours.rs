//! The neighbours sidecar: for each item, the items a visitor is likely to want next.
//!
//! The similarity of item `a` to a candidate neighbour `b` blends two signals counted over users:
//!
//! - co-occurrence: `co(a,b) = Σ_u w_u` over users who interacted with both;
//! - sequential proximity: `seq(a→b) = Σ_u w_u Σ decay^(d-1)` over pairs of positions in the
//!   user's time-ordered sequence with `b` at most `window` steps after `a` (`d` steps), plus
//!   `backward ×` the same for `b` before `a`. The next item is what a leave-last-out test asks
//!   for, so "after" usually deserves more weight than "before".
//!
//! `sim(a→b) = (co(a,b) + sequence_weight · seq(a→b)) / (n_a^(1-α) · n_b^α)`, where `n_x` is the
//! number of users of `x` and `w_u = 1 / n_u^user_damping` (`n_u`: distinct items of user `u`).
//! `α = 0.5` with no sequence term and no user damping is plain cosine; `α > 0.5` damps popular
//! neighbours. Each item keeps its `k` best neighbours (ties: lower item index first), scaled so
//! weights lie in (0, 1]: by the item's best weight (`row`) or by the best weight overall
//! (`global`, which keeps a symmetric similarity symmetric).

use std::fmt::Write as _;

/// How weights are scaled into (0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Normalise {
    /// Each item's best neighbour gets 1.
    Row,
    /// The best pair overall gets 1.
    Global,
    /// Raw similarities (only valid when they are already at most 1, e.g. plain cosine).
    None,
}

/// The builder's knobs. The defaults were chosen on MovieLens 100K's validation split
/// (`attune-tools eval` prints the tuning runs; `docs/recommendations-eval.md`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NeighbourOptions {
    /// Neighbours kept per item (`usize::MAX`: all).
    pub k: usize,
    pub sequence_weight: f64,
    pub window: usize,
    pub decay: f64,
    pub backward: f64,
    pub alpha: f64,
    pub user_damping: f64,
    pub normalise: Normalise,
}

impl Default for NeighbourOptions {
    fn default() -> Self {
        NeighbourOptions {
            k: 200,
            sequence_weight: 8.0,
            window: 10,
            decay: 0.9,
            backward: 0.25,
            alpha: 0.6,
            user_damping: 0.5,
            normalise: Normalise::Row,
        }
    }
}

impl NeighbourOptions {
    /// Plain cosine item-kNN over a binary user-item matrix (the baseline).
    pub fn cosine(k: usize) -> NeighbourOptions {
        NeighbourOptions {
            k,
            sequence_weight: 0.0,
            window: 0,
            decay: 1.0,
            backward: 1.0,
            alpha: 0.5,
            user_damping: 0.0,
            normalise: Normalise::None,
        }
    }

    /// Rejects knobs that would give weights outside (0, 1] or non-finite ones.
    pub fn validate(&self) -> Result<(), String> {
        let finite_nonneg = |name: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(format!("{name} must be a finite number >= 0, got {v}"))
            }
        };
        finite_nonneg("sequence-weight", self.sequence_weight)?;
        finite_nonneg("backward", self.backward)?;
        finite_nonneg("user-damping", self.user_damping)?;
        if !(self.decay > 0.0 && self.decay <= 1.0) {
            return Err(format!("decay must be in (0, 1], got {}", self.decay));
        }
        if !(0.0..=1.0).contains(&self.alpha) {
            return Err(format!("alpha must be in [0, 1], got {}", self.alpha));
        }
        if self.k == 0 {
            return Err("k must be at least 1".into());
        }
        if self.window > MAX_WINDOW {
            return Err(format!("window must be at most {MAX_WINDOW}, got {}", self.window));
        }
        let plain = self.sequence_weight == 0.0 && self.alpha == 0.5 && self.user_damping == 0.0;
        if self.normalise == Normalise::None && !plain {
            return Err("normalise none is only for plain cosine (weights would exceed 1)".into());
        }
        Ok(())
    }
}

/// The longest sequential window (a longer one is co-occurrence with extra cost).
pub const MAX_WINDOW: usize = 1000;

/// Neighbour lists by item index: `(neighbour index, weight)`, best first.
pub type NeighbourLists = Vec<Vec<(u32, f64)>>;

/// Builds neighbour lists from per-user item sequences (indices below `n_items`, in time order).
pub fn build(sequences: &[Vec<u32>], n_items: usize, opts: &NeighbourOptions) -> NeighbourLists {
    // Distinct items per user (co-occurrence is binary) and the sequence with immediate repeats
    // collapsed (a reload is not a step).
    let mut users_of: Vec<Vec<u32>> = vec![Vec::new(); n_items];
    let mut occurrences: Vec<Vec<(u32, u32)>> = vec![Vec::new(); n_items];
    let mut distinct: Vec<Vec<u32>> = Vec::with_capacity(sequences.len());
    let mut steps: Vec<Vec<u32>> = Vec::with_capacity(sequences.len());
    let mut user_weight = Vec::with_capacity(sequences.len());
    for (u, seq) in sequences.iter().enumerate() {
        let mut set: Vec<u32> = seq.iter().copied().filter(|&i| (i as usize) < n_items).collect();
        let mut path = set.clone();
        path.dedup();
        set.sort_unstable();
        set.dedup();
        for &i in &set {
            users_of[i as usize].push(u as u32);
        }
        for (p, &i) in path.iter().enumerate() {
            occurrences[i as usize].push((u as u32, p as u32));
        }
        user_weight.push(if set.is_empty() { 0.0 } else { (set.len() as f64).powf(-opts.user_damping) });
        distinct.push(set);
        steps.push(path);
    }
    let n_users: Vec<f64> = users_of.iter().map(|u| u.len() as f64).collect();
    let decay: Vec<f64> = (0..opts.window).map(|d| opts.decay.powi(d as i32)).collect();

    let mut co = vec![0.0f64; n_items];
    let mut seq = vec![0.0f64; n_items];
    let mut touched: Vec<u32> = Vec::new();
    let mut mark = vec![false; n_items];
    let mut lists: NeighbourLists = Vec::with_capacity(n_items);
    for a in 0..n_items {
        for &u in &users_of[a] {
            let w = user_weight[u as usize];
            for &b in &distinct[u as usize] {
                co[b as usize] += w;
                touch(b, &mut touched, &mut mark);
            }
        }
        if opts.sequence_weight > 0.0 {
            for &(u, p) in &occurrences[a] {
                let (w, path, p) = (user_weight[u as usize], &steps[u as usize], p as usize);
                for (d, &dw) in decay.iter().enumerate() {
                    let d = d + 1;
                    if let Some(&b) = path.get(p + d) {
                        seq[b as usize] += w * dw;
                        touch(b, &mut touched, &mut mark);
                    }
                    if p >= d {
                        let b = path[p - d];
                        seq[b as usize] += opts.backward * w * dw;
                        touch(b, &mut touched, &mut mark);
                    }
                }
            }
        }
        let left = n_users[a].powf(1.0 - opts.alpha);
        let mut row: Vec<(u32, f64)> = Vec::with_capacity(touched.len());
        for &b in &touched {
            let bi = b as usize;
            let raw = co[bi] + opts.sequence_weight * seq[bi];
            let sim = raw / (left * n_users[bi].powf(opts.alpha));
            if b as usize != a && sim.is_finite() && sim > 0.0 {
                row.push((b, sim));
            }
            co[bi] = 0.0;
            seq[bi] = 0.0;
            mark[bi] = false;
        }
        touched.clear();
        keep_best(&mut row, opts.k);
        lists.push(row);
    }
    normalise(&mut lists, opts.normalise);
    lists
}

/// Notes `b` as a candidate of the current row (once).
fn touch(b: u32, touched: &mut Vec<u32>, mark: &mut [bool]) {
    if !mark[b as usize] {
        mark[b as usize] = true;
        touched.push(b);
    }
}

fn by_weight_then_index(x: &(u32, f64), y: &(u32, f64)) -> std::cmp::Ordering {
    y.1.total_cmp(&x.1).then(x.0.cmp(&y.0))
}

fn keep_best(row: &mut Vec<(u32, f64)>, k: usize) {
    if row.len() > k {
        row.select_nth_unstable_by(k, by_weight_then_index);
        row.truncate(k);
    }
    row.sort_unstable_by(by_weight_then_index);
}

fn normalise(lists: &mut NeighbourLists, how: Normalise) {
    let scale_row = |row: &mut Vec<(u32, f64)>, max: f64| {
        for entry in row.iter_mut() {
            // Clamp: x / max can round a hair above 1.
            entry.1 = (entry.1 / max).min(1.0);
        }
        row.retain(|e| e.1 > 0.0);
    };
    match how {
        Normalise::None => {}
        Normalise::Row => {
            for row in lists.iter_mut() {
                if let Some(&(_, max)) = row.first() {
                    scale_row(row, max);
                }
            }
        }
        Normalise::Global => {
            let max = lists.iter().filter_map(|r| r.first()).map(|e| e.1).fold(0.0, f64::max);
            if max > 0.0 {
                for row in lists.iter_mut() {
                    scale_row(row, max);
                }
            }
        }
    }
}

/// Rounds to 6 significant digits (keeps the file small; the ranking does not need more).
fn round6(w: f64) -> f64 {
    format!("{w:.5e}").parse().unwrap_or(w)
}

/// Writes the sidecar JSON (`{"format": 1, "k": …, "items": {id: [[id, weight], …]}}`), items in
/// index order; items without neighbours are left out.
pub fn to_json(lists: &NeighbourLists, item_ids: &[String], k: usize) -> String {
    let quote = |s: &str| serde_json::to_string(s).expect("a string serialises");
    let mut out = format!("{{\"format\":1,\"k\":{k},\"items\":{{");
    let mut first = true;
    for (a, row) in lists.iter().enumerate() {
        let row: Vec<(u32, f64)> = row.iter().map(|&(b, w)| (b, round6(w))).filter(|e| e.1 > 0.0).collect();
        if row.is_empty() {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        write!(out, "\n{}:[", quote(&item_ids[a])).expect("writing to a String");
        for (n, (b, w)) in row.iter().enumerate() {
            let sep = if n == 0 { "" } else { "," };
            let w = serde_json::Number::from_f64(*w).expect("weights are finite");
            write!(out, "{sep}[{},{w}]", quote(&item_ids[*b as usize])).expect("writing to a String");
        }
        out.push(']');
    }
    out.push_str("\n}}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Vec<u32>> {
        vec![vec![0, 1, 2, 3], vec![1, 2, 4], vec![0, 2, 3, 1], vec![4, 3, 2], vec![0, 1, 1, 4]]
    }

    fn weight(lists: &NeighbourLists, a: u32, b: u32) -> Option<f64> {
        lists[a as usize].iter().find(|e| e.0 == b).map(|e| e.1)
    }

    #[test]
    fn cosine_matches_hand_computation() {
        let lists = build(&sample(), 5, &NeighbourOptions::cosine(usize::MAX));
        // Users of 0: {0,2,4}; of 1: {0,1,2,4}; both: {0,2,4} → 3 / sqrt(3·4).
        let expected = 3.0 / (12.0f64).sqrt();
        assert!((weight(&lists, 0, 1).unwrap() - expected).abs() < 1e-12);
    }

    #[test]
    fn symmetric_options_give_a_symmetric_similarity() {
        let opts = NeighbourOptions {
            k: usize::MAX,
            backward: 1.0,
            alpha: 0.5,
            normalise: Normalise::Global,
            ..NeighbourOptions::default()
        };
        let lists = build(&sample(), 5, &opts);
        for a in 0..5 {
            for &(b, w) in &lists[a as usize] {
                let back = weight(&lists, b, a).expect("b→a exists when a→b does");
                assert!((w - back).abs() < 1e-12, "{a}→{b}: {w} vs {back}");
            }
        }
    }

    #[test]
    fn forward_steps_outweigh_backward_ones() {
        let seqs = vec![vec![0, 1], vec![0, 1], vec![2, 0]];
        let opts = NeighbourOptions { k: 10, sequence_weight: 5.0, backward: 0.2, ..NeighbourOptions::default() };
        let lists = build(&seqs, 3, &opts);
        assert_eq!(lists[0][0].0, 1, "0 is followed by 1 twice");
        assert!(weight(&lists, 1, 0).unwrap() < 1.0 || lists[1].len() == 1);
    }

    #[test]
    fn weights_are_normalised_capped_sorted_and_never_self() {
        for normalise in [Normalise::Row, Normalise::Global] {
            let opts = NeighbourOptions { k: 2, normalise, ..NeighbourOptions::default() };
            let lists = build(&sample(), 5, &opts);
            let mut max: f64 = 0.0;
            for (a, row) in lists.iter().enumerate() {
                assert!(row.len() <= 2);
                assert!(row.iter().all(|&(b, w)| b as usize != a && w.is_finite() && w > 0.0 && w <= 1.0));
                assert!(row.windows(2).all(|p| p[0].1 >= p[1].1));
                if normalise == Normalise::Row && !row.is_empty() {
                    assert_eq!(row[0].1, 1.0);
                }
                max = row.iter().map(|e| e.1).fold(max, f64::max);
            }
            assert_eq!(max, 1.0);
        }
    }

    #[test]
    fn items_nobody_shares_have_no_neighbours_and_out_of_range_items_are_ignored() {
        let lists = build(&[vec![0], vec![1, 99]], 3, &NeighbourOptions::default());
        assert!(lists.iter().all(Vec::is_empty));
    }

    #[test]
    fn json_has_the_sidecar_shape() {
        let lists = build(&sample(), 5, &NeighbourOptions { k: 3, ..NeighbourOptions::default() });
        let ids: Vec<String> = (0..5).map(|i| format!("m{i}")).collect();
        let doc: serde_json::Value = serde_json::from_str(&to_json(&lists, &ids, 3)).unwrap();
        assert_eq!(doc["format"], 1);
        assert_eq!(doc["k"], 3);
        let row = doc["items"]["m0"].as_array().unwrap();
        assert!(!row.is_empty() && row.len() <= 3);
        assert!(row.iter().all(|p| p[0].is_string() && p[1].as_f64().unwrap() <= 1.0 && p[0] != "m0"));
    }

    #[test]
    fn invalid_options_are_rejected() {
        let bad = [
            NeighbourOptions { decay: 0.0, ..NeighbourOptions::default() },
            NeighbourOptions { alpha: 1.5, ..NeighbourOptions::default() },
            NeighbourOptions { sequence_weight: f64::NAN, ..NeighbourOptions::default() },
            NeighbourOptions { k: 0, ..NeighbourOptions::default() },
            NeighbourOptions { window: MAX_WINDOW + 1, ..NeighbourOptions::default() },
            NeighbourOptions { normalise: Normalise::None, ..NeighbourOptions::default() },
        ];
        assert!(bad.iter().all(|o| o.validate().is_err()));
        assert!(NeighbourOptions::default().validate().is_ok());
        assert!(NeighbourOptions::cosine(20).validate().is_ok());
    }
}
