//! Invariants of the recommender for any catalogue, sidecar, signals, config and request:
//! no panic, finite scores, filters and visitor controls always respected, explanations that
//! add up to the score, and the same answer for the same state and time.

use attune_core::recommend::config::{RecConfig, Weights};
use attune_core::recommend::{Catalog, Neighbours, RankRequest, Recommender, SignalKind, Signals, Slot};
use attune_core::Millis;
use proptest::prelude::*;
use serde_json::{json, Value};

const NOW: u64 = 1_800_000_000_000;
const TAGS: [&str; 6] = ["a", "b", "c", "d", "e", "f"];

fn item_id(n: usize) -> String {
    format!("i{n}")
}

fn catalog() -> impl Strategy<Value = (Value, usize)> {
    (0usize..40, 0usize..4).prop_flat_map(|(n, dim)| {
        let item = (
            proptest::collection::vec(0usize..TAGS.len(), 0..4),
            any::<bool>(),
            prop_oneof![Just(None), (0f64..1e9).prop_map(Some), Just(Some(0.0))],
            proptest::option::of(proptest::collection::vec(prop_oneof![-1e30f64..1e30, -1f64..1.0, Just(0.0)], dim)),
        );
        proptest::collection::vec(item, n).prop_map(move |items| {
            let items: Vec<Value> = items
                .into_iter()
                .enumerate()
                .map(|(k, (tags, available, popularity, embedding))| {
                    let tags: Vec<&str> = tags.into_iter().map(|t| TAGS[t]).collect();
                    json!({"id": item_id(k), "title": format!("Item {k}"), "url": "/", "tags": tags,
                           "available": available, "popularity": popularity, "embedding": embedding})
                })
                .collect();
            (json!({"format": 1, "dim": dim, "items": items}), n)
        })
    })
}

fn neighbours(n: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec((0..n + 3, proptest::collection::vec((0..n + 3, 0.001f64..=1.0), 0..5)), 0..n + 1)
        .prop_map(|lists| {
            let items: serde_json::Map<String, Value> = lists
                .into_iter()
                .map(|(from, links)| {
                    let links: Vec<Value> = links.into_iter().map(|(to, w)| json!([item_id(to), w])).collect();
                    (item_id(from), Value::Array(links))
                })
                .collect();
            json!({"format": 1, "items": items}).to_string()
        })
}

#[derive(Clone, Debug)]
enum Op {
    Record(usize, usize, Option<f32>, u64),
    Forget(usize),
    Mute(usize),
    Unmute(usize),
    Reset,
}

fn ops(n: usize) -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        6 => (0..n + 2, 0..SignalKind::ALL.len(), proptest::option::of(0f32..=1.0), 0u64..200 * 86_400_000)
            .prop_map(|(i, k, r, ago)| Op::Record(i, k, r, ago)),
        1 => (0..n + 2).prop_map(Op::Forget),
        1 => (0..TAGS.len()).prop_map(Op::Mute),
        1 => (0..TAGS.len()).prop_map(Op::Unmute),
        1 => Just(Op::Reset),
    ];
    proptest::collection::vec(op, 0..25)
}

fn config() -> impl Strategy<Value = RecConfig> {
    (proptest::collection::vec(0f32..=100.0, 6), 0f32..=1.0, 1usize..30, 0f32..=1.0).prop_map(
        |(w, diversity, recent, decay)| RecConfig {
            weights: Weights {
                tags: w[0],
                neighbours: w[1],
                embedding: w[2],
                stated: w[3],
                popularity: w[4],
                context: w[5],
            },
            diversity,
            recent_items: recent,
            recency_decay: decay,
            ..RecConfig::default()
        },
    )
}

fn request(n: usize) -> impl Strategy<Value = RankRequest> {
    let ids = move |max| proptest::collection::vec((0..n + 2).prop_map(item_id), 0..max);
    let tags = || proptest::collection::vec((0..TAGS.len()).prop_map(|t| TAGS[t].to_owned()), 0..2);
    (0..3usize, 1usize..12, ids(3), ids(3), tags(), tags(), proptest::option::of(any::<bool>()), any::<bool>())
        .prop_map(|(slot, k, context, exclude, any_tags, no_tags, include_seen, include_unavailable)| RankRequest {
            slot: [Slot::Home, Slot::Similar, Slot::Cart][slot],
            k,
            context,
            exclude,
            any_tags,
            no_tags,
            include_seen,
            include_unavailable,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn rankings_respect_every_rule_and_explain_their_scores(
        ((catalog_json, n), nbrs, ops, req, config, stated) in catalog().prop_flat_map(|(c, n)| {
            (Just((c, n)), neighbours(n), ops(n), request(n), config(),
             proptest::collection::vec(((0..TAGS.len()).prop_map(|t| TAGS[t].to_owned()), 0f32..=1.0), 0..3))
        })
    ) {
        let (catalog, _) = Catalog::from_value(&catalog_json).expect("the generated catalogue reads");
        let (nbrs, _) = Neighbours::from_json(&nbrs, &catalog).expect("the generated sidecar reads");
        let mut r = Recommender::new(catalog.clone(), Some(nbrs), config.clone());
        let mut signals = Signals::default();
        let now = Millis(NOW);
        for op in &ops {
            match op {
                Op::Record(i, k, ratio, ago) => r.record(&mut signals, &item_id(*i), SignalKind::ALL[*k], *ratio, Millis(NOW - ago)),
                Op::Forget(i) => signals.forget(&config, &item_id(*i), now),
                Op::Mute(t) => {
                    signals.mute(TAGS[*t], now);
                }
                Op::Unmute(t) => signals.unmute(TAGS[*t], now),
                Op::Reset => signals.reset(&config, now),
            }
        }
        let result = r.rank_explained(&signals, &stated, &req, now);
        let known_context = req.context.iter().any(|c| catalog.position(c).is_some());
        if req.slot == Slot::Similar && !known_context && n > 0 {
            prop_assert!(result.is_err());
            return Ok(());
        }
        let out = result.expect("ranks");
        prop_assert!(out.len() <= req.k);
        let mut seen_ids = std::collections::HashSet::new();
        let include_seen = req.include_seen.unwrap_or(req.slot != Slot::Home);
        for (rec, parts) in &out {
            prop_assert!(rec.score.is_finite(), "score {}", rec.score);
            prop_assert!(seen_ids.insert(rec.id.clone()), "{} twice", rec.id);
            let i = catalog.position(&rec.id).expect("a catalogue item");
            let tags: Vec<&str> = catalog.tags_of(i).collect();
            prop_assert!(!req.exclude.contains(&rec.id));
            prop_assert!(req.include_unavailable || catalog.is_available(i));
            prop_assert!(!tags.iter().any(|t| signals.muted().any(|m| m == *t)), "muted tag in {tags:?}");
            prop_assert!(!tags.iter().any(|t| req.no_tags.iter().any(|x| x == t)));
            prop_assert!(req.any_tags.is_empty() || tags.iter().any(|t| req.any_tags.iter().any(|x| x == t)));
            if req.slot != Slot::Home {
                prop_assert!(!req.context.contains(&rec.id), "a context item came back");
            }
            for s in signals.history.iter().filter(|s| s.item == rec.id) {
                prop_assert!(!s.kind.excludes(), "{} was {:?}", rec.id, s.kind);
                prop_assert!(include_seen, "{} was seen", rec.id);
            }
            // The parts add up to the score; the reasons are the largest positive parts.
            let sum: f32 = parts.iter().map(|p| p.weight).sum();
            let scale = parts.iter().map(|p| p.weight.abs()).sum::<f32>().max(1.0);
            prop_assert!((sum - rec.score).abs() <= 1e-3 * scale, "parts {} vs score {}", sum, rec.score);
            prop_assert!(rec.because.len() <= 3);
            prop_assert!(rec.because.iter().all(|b| b.weight > 0.0 && b.weight.is_finite()));
            prop_assert!(rec.because.windows(2).all(|w| w[0].weight >= w[1].weight));
            // Nothing forgotten (or reset) is ever a reason.
            for p in parts.iter().filter_map(|p| p.item.as_ref()) {
                let forgotten = signals.forgotten.iter().any(|(f, _)| f == p) && !req.context.contains(p);
                prop_assert!(!forgotten, "forgotten {p} is a reason");
            }
        }
        // The same state and time give the same answer, in a fresh ranker too.
        let again = r.rank_explained(&signals, &stated, &req, now).expect("ranks");
        prop_assert_eq!(&out, &again);
        let mut fresh = Recommender::new(catalog, r.neighbours.clone(), config);
        prop_assert_eq!(out, fresh.rank_explained(&signals, &stated, &req, now).expect("ranks"));
    }

    #[test]
    fn stored_signals_never_break_decoding(raw in ".{0,200}", history in proptest::collection::vec(any::<(String, u8, u64)>(), 0..5)) {
        let _ = Signals::decode(&raw);
        let entries: Vec<Value> = history.iter().map(|(item, k, at)| json!({"item": item, "kind": SignalKind::ALL[*k as usize % 7].name(), "at": at})).collect();
        let doc = json!({"v": 1, "history": entries, "mutes": [["x", 1, true], [3]]}).to_string();
        let (decoded, problems) = Signals::decode(&doc).expect("a version-1 document decodes");
        prop_assert_eq!(problems.len() + decoded.history.len() + decoded.mutes.len(), history.len() + 2);
    }
}
