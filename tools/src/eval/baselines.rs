//! The baselines every Attune figure is compared with, on the same split.

use super::{seen_mask, top_k, Case, Split};
use crate::events::Interaction;
use crate::neighbours::{build, NeighbourLists, NeighbourOptions};

/// Most interacted-with items in training.
pub struct Popularity {
    counts: Vec<f64>,
}

impl Popularity {
    pub fn new(split: &Split, n_items: usize) -> Popularity {
        Popularity { counts: split.counts(n_items) }
    }

    pub fn rank(&self, history: &[Interaction], k: usize) -> Vec<u32> {
        top_k(&self.counts, &seen_mask(history, self.counts.len()), k)
    }
}

/// Item-kNN over the binary user-item matrix: `score(i) = Σ_{j ∈ history} cos(i, j)`, each
/// history item contributing only its `neighbours` most similar items (`usize::MAX`: all).
pub struct ItemKnn {
    lists: NeighbourLists,
}

impl ItemKnn {
    pub fn new(split: &Split, n_items: usize, neighbours: usize) -> ItemKnn {
        ItemKnn { lists: build(&split.sequences(), n_items, &NeighbourOptions::cosine(neighbours)) }
    }

    pub fn rank(&self, history: &[Interaction], k: usize) -> Vec<u32> {
        let n = self.lists.len();
        let seen = seen_mask(history, n);
        let mut scores = vec![0.0; n];
        // Each distinct history item counts once (the matrix is binary).
        for (j, _) in seen.iter().enumerate().filter(|(_, s)| **s) {
            for &(i, w) in &self.lists[j] {
                scores[i as usize] += w;
            }
        }
        top_k(&scores, &seen, k)
    }
}

/// Neighbour-list sizes tried for item-kNN on validation (`usize::MAX`: all).
pub const KNN_SIZES: [usize; 4] = [20, 50, 100, usize::MAX];

/// Shows a neighbour-list size.
pub fn size_label(k: usize) -> String {
    if k == usize::MAX {
        "all".into()
    } else {
        k.to_string()
    }
}

/// Evaluates item-kNN with neighbour-list size `size` on `split`.
pub fn knn_metrics(split: &Split, n_items: usize, size: usize, k: usize) -> super::Metrics {
    let knn = ItemKnn::new(split, n_items, size);
    super::evaluate(split, k, |history, _: &Case| knn.rank(history, k))
}
