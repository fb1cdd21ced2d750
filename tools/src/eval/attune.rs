//! The Attune row: rankings from the Attune core (`attune_core::recommend`), fed the way the
//! browser feeds it — each event through `Recommender::record`, then one `rank` for the `home`
//! slot.

use attune_core::recommend::{Catalog, Neighbours, RankRequest, RecConfig, Recommender, SignalKind, Signals, Slot};
use attune_core::Millis;

#[derive(Debug, thiserror::Error)]
pub enum AttuneRankError {
    #[error("catalogue: {0}")]
    Catalog(String),
    #[error("neighbours: {0}")]
    Neighbours(String),
    #[error("config: {0}")]
    Config(String),
    #[error("rank: {0}")]
    Rank(String),
}

/// One visitor event to replay: `(item id, event kind, Unix ms)`.
pub type HistoryEvent<'a> = (&'a str, &'a str, i64);

/// The core's recommender loaded with a catalogue, an optional neighbours sidecar and config.
#[derive(Clone)]
pub struct AttuneModel {
    rec: Recommender,
    /// What loading reported (skipped items, dropped links, …).
    pub warnings: Vec<String>,
    /// Replayed events whose kind the core does not know (replayed as `view`).
    pub unknown_kinds: usize,
}

impl AttuneModel {
    pub fn new(
        catalog_json: &str,
        neighbours_json: Option<&str>,
        config_json: Option<&str>,
    ) -> Result<AttuneModel, AttuneRankError> {
        let mut warnings = Vec::new();
        let (catalog, issues) =
            Catalog::from_json(catalog_json).map_err(|e| AttuneRankError::Catalog(e.to_string()))?;
        for issue in &issues.listed {
            warnings.push(format!("catalogue {}: {}", issue.field, issue.message));
        }
        if issues.skipped > 0 {
            warnings.push(format!("catalogue: {} items skipped", issues.skipped));
        }
        let neighbours = match neighbours_json {
            Some(json) => {
                let (nbrs, issues) =
                    Neighbours::from_json(json, &catalog).map_err(|e| AttuneRankError::Neighbours(e.to_string()))?;
                for issue in &issues.listed {
                    warnings.push(format!("neighbours {}: {}", issue.field, issue.message));
                }
                if nbrs.unknown > 0 {
                    warnings.push(format!("neighbours: {} links to items not in the catalogue dropped", nbrs.unknown));
                }
                Some(nbrs)
            }
            None => None,
        };
        let config = match config_json {
            Some(json) => RecConfig::from_json(json).map_err(|e| AttuneRankError::Config(e.to_string()))?,
            None => RecConfig::default(),
        };
        Ok(AttuneModel { rec: Recommender::new(catalog, neighbours, config), warnings, unknown_kinds: 0 })
    }

    /// The plug the evaluation and replay call: the top `k` item ids for a visitor whose events
    /// are `history` (oldest first), at time `now`. Items in the history are never returned.
    ///
    /// Events with the same millisecond keep `history`'s order (the documented tie-break): the
    /// core counts signals recorded at the same time in the order they were recorded.
    pub fn rank(&mut self, history: &[HistoryEvent<'_>], now: i64, k: usize) -> Result<Vec<String>, AttuneRankError> {
        let mut signals = Signals::default();
        let mut last: Option<u64> = None;
        for &(item, kind, at) in history {
            let kind = SignalKind::parse(kind).unwrap_or_else(|| {
                self.unknown_kinds += 1;
                SignalKind::View
            });
            let at = at.max(0) as u64;
            last = Some(last.map_or(at, |l| l.max(at)));
            self.rec.record(&mut signals, item, kind, None, Millis(at));
        }
        let now = (now.max(0) as u64).max(last.unwrap_or(0));
        let mut exclude: Vec<String> = history.iter().map(|e| e.0.to_owned()).collect();
        exclude.sort_unstable();
        exclude.dedup();
        let req = RankRequest { slot: Slot::Home, k, exclude, ..Default::default() };
        let out = self.rec.rank(&signals, &[], &req, Millis(now)).map_err(|e| AttuneRankError::Rank(e.to_string()))?;
        Ok(out.into_iter().map(|r| r.id).collect())
    }
}
