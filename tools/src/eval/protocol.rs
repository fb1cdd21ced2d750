//! The whole evaluation: baselines and Attune on the validation and test splits, Attune's
//! knobs and item-kNN's neighbour count chosen on validation only, one run on test.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Instant;

use serde::Serialize;
use serde_json::json;

use super::attune::{AttuneModel, AttuneRankError, HistoryEvent};
use super::baselines::{knn_metrics, size_label, Popularity, KNN_SIZES};
use super::{evaluate, rank_of, split, Holdout, Metrics, Split};
use crate::catalog::CatalogDoc;
use crate::events::Dataset;
use crate::neighbours::{build, to_json, NeighbourOptions, Normalise};

/// The knobs of the Attune row: the neighbours builder and the core's ranking config.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttuneKnobs {
    pub builder: NeighbourOptions,
    /// `weights.tags` (`weights.neighbours` stays 1: the other weights are relative to it).
    pub tags: f64,
    /// `weights.popularity`.
    pub popularity: f64,
    /// `recentItems`.
    pub recent_items: f64,
    /// `recencyDecay`.
    pub recency_decay: f64,
    /// `signals.view.halfLifeDays`.
    pub half_life_days: f64,
    /// `diversity`.
    pub diversity: f64,
}

impl Default for AttuneKnobs {
    /// The values chosen on MovieLens 100K's validation split.
    fn default() -> Self {
        AttuneKnobs {
            builder: NeighbourOptions::default(),
            tags: 0.0,
            popularity: 0.0,
            recent_items: 20.0,
            recency_decay: 0.85,
            half_life_days: 14.0,
            diversity: 0.0,
        }
    }
}

/// A knob the tuner may move, and the values it tries.
struct Knob {
    name: &'static str,
    values: &'static [f64],
}

/// The validation grid: each knob is tried at these values, one knob at a time.
const GRID: &[Knob] = &[
    Knob { name: "sequenceWeight", values: &[0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0] },
    Knob { name: "window", values: &[1.0, 3.0, 5.0, 10.0, 20.0] },
    Knob { name: "decay", values: &[0.6, 0.8, 0.9, 1.0] },
    Knob { name: "backward", values: &[0.0, 0.25, 0.5, 1.0] },
    Knob { name: "alpha", values: &[0.5, 0.6, 0.7, 0.8] },
    Knob { name: "userDamping", values: &[0.0, 0.5, 1.0] },
    Knob { name: "normaliseGlobal", values: &[0.0, 1.0] },
    Knob { name: "neighbours", values: &[20.0, 50.0, 100.0, 200.0] },
    Knob { name: "popularity", values: &[0.0, 0.05, 0.15, 0.3, 0.6] },
    Knob { name: "tags", values: &[0.0, 0.1, 0.2, 0.4] },
    Knob { name: "recentItems", values: &[5.0, 10.0, 20.0, 50.0, 200.0] },
    Knob { name: "recencyDecay", values: &[0.5, 0.7, 0.85, 0.95, 1.0] },
    Knob { name: "halfLifeDays", values: &[1.0, 14.0, 90.0, 3650.0] },
    Knob { name: "diversity", values: &[0.0, 0.1, 0.2] },
];

impl AttuneKnobs {
    fn get(&self, name: &str) -> f64 {
        let b = &self.builder;
        match name {
            "sequenceWeight" => b.sequence_weight,
            "window" => b.window as f64,
            "decay" => b.decay,
            "backward" => b.backward,
            "alpha" => b.alpha,
            "userDamping" => b.user_damping,
            "normaliseGlobal" => f64::from(u8::from(b.normalise == Normalise::Global)),
            "neighbours" => b.k as f64,
            "popularity" => self.popularity,
            "tags" => self.tags,
            "recentItems" => self.recent_items,
            "recencyDecay" => self.recency_decay,
            "halfLifeDays" => self.half_life_days,
            "diversity" => self.diversity,
            _ => unreachable!("unknown knob {name}"),
        }
    }

    fn set(&mut self, name: &str, v: f64) {
        let b = &mut self.builder;
        match name {
            "sequenceWeight" => b.sequence_weight = v,
            "window" => b.window = v as usize,
            "decay" => b.decay = v,
            "backward" => b.backward = v,
            "alpha" => b.alpha = v,
            "userDamping" => b.user_damping = v,
            "normaliseGlobal" => b.normalise = if v > 0.0 { Normalise::Global } else { Normalise::Row },
            "neighbours" => b.k = v as usize,
            "popularity" => self.popularity = v,
            "tags" => self.tags = v,
            "recentItems" => self.recent_items = v,
            "recencyDecay" => self.recency_decay = v,
            "halfLifeDays" => self.half_life_days = v,
            "diversity" => self.diversity = v,
            _ => unreachable!("unknown knob {name}"),
        }
    }

    /// The core's ranking config for these knobs. History limits are at their maximum so the
    /// replay keeps a whole training log (MovieLens users have up to ~700 ratings over months).
    pub fn config_json(&self) -> String {
        json!({
            "weights": {"tags": self.tags, "neighbours": 1.0, "embedding": 0.0, "stated": 0.0, "popularity": self.popularity},
            "signals": {"view": {"weight": 1.0, "halfLifeDays": self.half_life_days}},
            "recentItems": self.recent_items,
            "recencyDecay": self.recency_decay,
            "maxHistory": 1000,
            "historyDays": 3650,
            "diversity": self.diversity,
        })
        .to_string()
    }

    /// The knobs as `name=value` pairs, in grid order.
    pub fn describe(&self) -> String {
        GRID.iter().map(|k| format!("{}={}", k.name, self.get(k.name))).collect::<Vec<_>>().join(" ")
    }

    fn as_json(&self) -> serde_json::Value {
        let mut builder = serde_json::Map::new();
        let mut config = serde_json::Map::new();
        for (i, knob) in GRID.iter().enumerate() {
            let target = if i < 8 { &mut builder } else { &mut config };
            target.insert(knob.name.into(), json!(self.get(knob.name)));
        }
        json!({"neighbours": builder, "config": config})
    }
}

/// One method's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub method: String,
    pub validation: Figures,
    pub test: Figures,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Figures {
    pub hr: f64,
    pub ndcg: f64,
    pub users: usize,
}

impl From<Metrics> for Figures {
    fn from(m: Metrics) -> Self {
        Figures { hr: m.hr(), ndcg: m.ndcg(), users: m.users }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub k: usize,
    pub items: usize,
    pub events: usize,
    pub users: usize,
    pub users_evaluated: usize,
    pub users_skipped: usize,
    pub rows: Vec<Row>,
    /// item-kNN's neighbour-list size chosen on validation.
    pub knn_neighbours: String,
    pub attune_knobs: serde_json::Value,
    pub attune_config: serde_json::Value,
    /// Every validation run of the tuner, in order.
    pub tuning: Vec<String>,
    pub runtime_seconds: f64,
}

#[derive(Debug, Clone)]
pub struct EvalOptions {
    pub k: usize,
    /// Search the grid on validation; otherwise use `start` as is.
    pub tune: bool,
    pub start: AttuneKnobs,
    /// Passes over the grid (stops early when a pass changes nothing).
    pub passes: usize,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions { k: 10, tune: true, start: AttuneKnobs::default(), passes: 2 }
    }
}

/// Attune on one split: neighbours and popularity from the split's training part only.
pub fn attune_metrics(
    catalog: &CatalogDoc,
    data: &Dataset,
    split: &Split,
    knobs: &AttuneKnobs,
    k: usize,
) -> Result<Metrics, AttuneRankError> {
    let n = data.items.len();
    let neighbours = to_json(&build(&split.sequences(), n, &knobs.builder), &data.items, knobs.builder.k);
    let catalog_json = serde_json::to_string(&with_counts(catalog, data, split)).expect("a catalogue serialises");
    let model = AttuneModel::new(&catalog_json, Some(&neighbours), Some(&knobs.config_json()))?;
    let index: HashMap<&str, u32> = data.items.iter().enumerate().map(|(i, id)| (id.as_str(), i as u32)).collect();
    // Two fixed halves of the users, one thread each (the machines have two cores); the sums
    // are added in a fixed order, so the figures do not depend on scheduling.
    let half = split.cases.len().div_ceil(2).max(1);
    let results: Vec<Result<Metrics, AttuneRankError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = split
            .cases
            .chunks(half)
            .map(|cases| {
                let mut model = model.clone();
                let index = &index;
                scope.spawn(move || {
                    let mut metrics = Metrics::default();
                    for case in cases {
                        let history = split.history(case);
                        let events: Vec<HistoryEvent<'_>> = history
                            .iter()
                            .map(|i| (data.items[i.item as usize].as_str(), i.kind.as_str(), i.timestamp))
                            .collect();
                        let ids = model.rank(&events, case.now, k)?;
                        let list: Vec<u32> = ids.iter().filter_map(|id| index.get(id.as_str()).copied()).collect();
                        metrics.add(rank_of(&list, case.target, k));
                    }
                    Ok(metrics)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("an evaluation thread panicked")).collect()
    });
    let mut total = Metrics::default();
    for part in results {
        total.merge(&part?);
    }
    Ok(total)
}

/// The catalogue with popularity = training interactions (by catalogue id).
fn with_counts(catalog: &CatalogDoc, data: &Dataset, split: &Split) -> CatalogDoc {
    let counts = split.counts(data.items.len());
    let by_id: HashMap<&str, f64> = data.items.iter().map(String::as_str).zip(counts.iter().copied()).collect();
    let counts: Vec<f64> = catalog.items.iter().map(|i| by_id.get(i.id.as_str()).copied().unwrap_or(0.0)).collect();
    catalog.with_popularity(&counts)
}

fn better(a: &Metrics, b: &Metrics) -> bool {
    (a.hits, a.ndcg_sum) > (b.hits, b.ndcg_sum)
}

/// The tuner's objective: HR@k + NDCG@k on validation.
fn objective(m: &Metrics) -> f64 {
    m.hr() + m.ndcg()
}

/// A move must gain at least one user's hit (1 / users) on the objective: smaller differences
/// are one user's luck, and chasing them fits the validation users rather than the data.
fn clearly_better(a: &Metrics, b: &Metrics) -> bool {
    objective(a) > objective(b) + 1.0 / b.users.max(1) as f64
}

/// Coordinate search over [`GRID`] on the validation split, from `opts.start`: each knob in
/// turn moves to its best value if that is [`clearly_better`], until a pass moves nothing.
fn tune(
    catalog: &CatalogDoc,
    data: &Dataset,
    valid: &Split,
    opts: &EvalOptions,
    log: &mut Vec<String>,
) -> Result<(AttuneKnobs, Metrics), AttuneRankError> {
    let mut seen: HashMap<String, Metrics> = HashMap::new();
    let mut run = |knobs: &AttuneKnobs, log: &mut Vec<String>| -> Result<Metrics, AttuneRankError> {
        let key = knobs.describe();
        if let Some(m) = seen.get(&key) {
            return Ok(*m);
        }
        let m = attune_metrics(catalog, data, valid, knobs, opts.k)?;
        log.push(format!("HR={:.4} NDCG={:.4} {key}", m.hr(), m.ndcg()));
        eprintln!("  tune: {}", log.last().expect("just pushed"));
        seen.insert(key, m);
        Ok(m)
    };
    let mut best = opts.start;
    let mut best_m = run(&best, log)?;
    for _ in 0..opts.passes {
        let mut changed = false;
        for knob in GRID {
            for &v in knob.values {
                let mut trial = best;
                trial.set(knob.name, v);
                if trial.builder.validate().is_err() {
                    continue;
                }
                let m = run(&trial, log)?;
                if clearly_better(&m, &best_m) {
                    best = trial;
                    best_m = m;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    Ok((best, best_m))
}

/// Runs the protocol on `data` (built against `catalog`'s items).
pub fn run(catalog: &CatalogDoc, data: &Dataset, opts: &EvalOptions) -> Result<Report, AttuneRankError> {
    let started = Instant::now();
    let k = opts.k;
    let n = data.items.len();
    let valid = split(data, Holdout::Validation);
    let test = split(data, Holdout::Test);
    let mut rows = Vec::new();

    let popularity = |s: &Split| {
        let pop = Popularity::new(s, n);
        evaluate(s, k, |history, _| pop.rank(history, k))
    };
    rows.push(Row {
        method: "Popularity".into(),
        validation: popularity(&valid).into(),
        test: popularity(&test).into(),
    });

    let mut best_knn: Option<(usize, Metrics)> = None;
    for size in KNN_SIZES {
        let m = knn_metrics(&valid, n, size, k);
        eprintln!("  item-kNN neighbours={}: validation HR={:.4} NDCG={:.4}", size_label(size), m.hr(), m.ndcg());
        if best_knn.as_ref().is_none_or(|(_, b)| better(&m, b)) {
            best_knn = Some((size, m));
        }
    }
    let (knn_size, knn_valid) = best_knn.expect("KNN_SIZES is not empty");
    rows.push(Row {
        method: format!("item-kNN (cosine, {} neighbours)", size_label(knn_size)),
        validation: knn_valid.into(),
        test: knn_metrics(&test, n, knn_size, k).into(),
    });

    let mut tuning = Vec::new();
    let (knobs, attune_valid) = if opts.tune {
        tune(catalog, data, &valid, opts, &mut tuning)?
    } else {
        (opts.start, attune_metrics(catalog, data, &valid, &opts.start, k)?)
    };
    let attune_test = attune_metrics(catalog, data, &test, &knobs, k)?;
    rows.push(Row { method: "Attune".into(), validation: attune_valid.into(), test: attune_test.into() });

    Ok(Report {
        k,
        items: n,
        events: data.event_count(),
        users: data.users.len(),
        users_evaluated: test.cases.len(),
        users_skipped: test.skipped_users,
        rows,
        knn_neighbours: size_label(knn_size),
        attune_knobs: knobs.as_json(),
        attune_config: serde_json::from_str(&knobs.config_json()).expect("config_json is JSON"),
        tuning,
        runtime_seconds: started.elapsed().as_secs_f64(),
    })
}

impl Report {
    /// The Markdown table and the facts around it.
    pub fn to_markdown(&self) -> String {
        let k = self.k;
        let mut out = String::new();
        let w = &mut out;
        let _ = writeln!(w, "| method | valid HR@{k} | valid NDCG@{k} | test HR@{k} | test NDCG@{k} |");
        let _ = writeln!(w, "|---|---:|---:|---:|---:|");
        for r in &self.rows {
            let (v, t) = (r.validation, r.test);
            let _ = writeln!(w, "| {} | {:.4} | {:.4} | {:.4} | {:.4} |", r.method, v.hr, v.ndcg, t.hr, t.ndcg);
        }
        let _ = writeln!(
            w,
            "\nusers evaluated: {} (skipped {} with < 3 interactions); {} items, {} events",
            self.users_evaluated, self.users_skipped, self.items, self.events
        );
        let _ = writeln!(w, "item-kNN neighbours (chosen on validation): {}", self.knn_neighbours);
        let _ = writeln!(w, "Attune knobs (chosen on validation): {}", self.attune_knobs);
        let _ = writeln!(w, "Attune config: {}", self.attune_config);
        let _ = writeln!(w, "runtime: {:.1} s", self.runtime_seconds);
        out
    }

    pub fn row(&self, prefix: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.method.starts_with(prefix))
    }
}
