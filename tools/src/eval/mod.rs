//! Leave-last-out evaluation (the protocol is in `docs/recommendations-eval.md`).
//!
//! - [`split`] holds out each user's last (test) or second-to-last (validation) interaction.
//! - [`evaluate`] ranks every catalogue item the user has not interacted with in training and
//!   scores HR@k and NDCG@k of the held-out item.
//! - [`baselines`] are popularity and cosine item-kNN; [`attune`] runs the Attune core.
//! - [`protocol`] ties them together: tuning on validation, then one test run.

pub mod attune;
pub mod baselines;
pub mod protocol;

use crate::events::{Dataset, Interaction};

/// Which interaction is held out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holdout {
    /// The second-to-last; training is everything before it (the last is never seen).
    Validation,
    /// The last; training is everything before it.
    Test,
}

impl Holdout {
    fn held(self) -> usize {
        match self {
            Holdout::Validation => 2,
            Holdout::Test => 1,
        }
    }
}

/// Users with fewer interactions are not evaluated (their whole log is training data).
pub const MIN_INTERACTIONS: usize = 3;

/// One user to evaluate: their training history is `Split::train[user]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub user: usize,
    pub target: u32,
    /// The held-out interaction's timestamp: "now" for the ranker.
    pub now: i64,
}

#[derive(Debug, Clone, Default)]
pub struct Split {
    /// Training interactions by user index (same order as `Dataset::users`).
    pub train: Vec<Vec<Interaction>>,
    pub cases: Vec<Case>,
    /// Users with fewer than [`MIN_INTERACTIONS`] interactions.
    pub skipped_users: usize,
}

impl Split {
    /// Training sequences (item indices in time order), for the neighbour builders.
    pub fn sequences(&self) -> Vec<Vec<u32>> {
        self.train.iter().map(|h| h.iter().map(|i| i.item).collect()).collect()
    }

    /// Training interactions per item (the popularity prior and baseline).
    pub fn counts(&self, n_items: usize) -> Vec<f64> {
        let mut counts = vec![0.0; n_items];
        for h in &self.train {
            for i in h {
                counts[i.item as usize] += 1.0;
            }
        }
        counts
    }

    pub fn history(&self, case: &Case) -> &[Interaction] {
        &self.train[case.user]
    }
}

pub fn split(data: &Dataset, holdout: Holdout) -> Split {
    let mut out = Split::default();
    for (u, user) in data.users.iter().enumerate() {
        let n = user.interactions.len();
        if n < MIN_INTERACTIONS {
            out.train.push(user.interactions.clone());
            out.skipped_users += 1;
            continue;
        }
        let cut = n - holdout.held();
        let held = &user.interactions[cut];
        out.cases.push(Case { user: u, target: held.item, now: held.timestamp });
        out.train.push(user.interactions[..cut].to_vec());
    }
    out
}

/// HR@k and NDCG@k summed over users.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Metrics {
    pub users: usize,
    pub hits: usize,
    pub ndcg_sum: f64,
}

impl Metrics {
    /// Adds one user whose held-out item is at 1-based `rank` (None: not in the top k).
    pub fn add(&mut self, rank: Option<usize>) {
        self.users += 1;
        if let Some(r) = rank {
            self.hits += 1;
            self.ndcg_sum += 1.0 / ((r + 1) as f64).log2();
        }
    }

    pub fn merge(&mut self, other: &Metrics) {
        self.users += other.users;
        self.hits += other.hits;
        self.ndcg_sum += other.ndcg_sum;
    }

    pub fn hr(&self) -> f64 {
        if self.users == 0 {
            0.0
        } else {
            self.hits as f64 / self.users as f64
        }
    }

    pub fn ndcg(&self) -> f64 {
        if self.users == 0 {
            0.0
        } else {
            self.ndcg_sum / self.users as f64
        }
    }
}

/// 1-based position of `target` in `list`, if there within the first `k`.
pub fn rank_of(list: &[u32], target: u32, k: usize) -> Option<usize> {
    list.iter().take(k).position(|&i| i == target).map(|p| p + 1)
}

/// The `k` best items by score (higher first; ties: lower catalogue index first), skipping
/// `excluded` ones. Every non-excluded item is a candidate, whatever its score.
pub fn top_k(scores: &[f64], excluded: &[bool], k: usize) -> Vec<u32> {
    let mut candidates: Vec<(u32, f64)> =
        scores.iter().enumerate().filter(|(i, _)| !excluded[*i]).map(|(i, &s)| (i as u32, s)).collect();
    let order = |a: &(u32, f64), b: &(u32, f64)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if candidates.len() > k {
        candidates.select_nth_unstable_by(k, order);
        candidates.truncate(k);
    }
    candidates.sort_unstable_by(order);
    candidates.into_iter().map(|(i, _)| i).collect()
}

/// Marks the items of a history.
pub fn seen_mask(history: &[Interaction], n_items: usize) -> Vec<bool> {
    let mut seen = vec![false; n_items];
    for i in history {
        seen[i.item as usize] = true;
    }
    seen
}

/// Ranks every case with `rank(history, case)` (which returns items best first, history
/// excluded) and scores the held-out item within the first `k`.
pub fn evaluate<F>(split: &Split, k: usize, mut rank: F) -> Metrics
where
    F: FnMut(&[Interaction], &Case) -> Vec<u32>,
{
    let mut metrics = Metrics::default();
    for case in &split.cases {
        let list = rank(split.history(case), case);
        metrics.add(rank_of(&list, case.target, k));
    }
    metrics
}
