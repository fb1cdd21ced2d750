use super::*;
use crate::time::Millis;
use serde_json::{json, Value};

const NOW: Millis = Millis(1_800_000_000_000);
const MIN: u64 = 60_000;

/// A shop: two hiking items related to each other, kitchen items, one unavailable item.
fn shop() -> Value {
    json!({
        "format": 1,
        "revision": "2026-12-01",
        "dim": 3,
        "items": [
            {"id": "boots", "title": "Hiking boots", "url": "/p/boots", "category": "outdoor", "tags": ["hiking"], "popularity": 50, "embedding": [1.0, 0.1, 0.0]},
            {"id": "socks", "title": "Wool socks", "url": "/p/socks", "category": "outdoor", "tags": ["hiking", "wool"], "popularity": 20, "embedding": [0.9, 0.2, 0.0]},
            {"id": "tent", "title": "Tent", "url": "/p/tent", "category": "outdoor", "tags": ["camping"], "popularity": 10, "embedding": [0.7, 0.0, 0.3]},
            {"id": "pan", "title": "Cast iron pan", "url": "/p/pan", "category": "kitchen", "tags": ["cooking"], "popularity": 400, "embedding": [0.0, 1.0, 0.0]},
            {"id": "kettle", "title": "Kettle", "url": "/p/kettle", "category": "kitchen", "tags": ["coffee"], "popularity": 300, "embedding": [0.0, 0.9, 0.3]},
            {"id": "mug", "title": "Mug", "url": "/p/mug", "category": "kitchen", "tags": ["coffee"], "popularity": 100},
            {"id": "stove", "title": "Camp stove", "url": "/p/stove", "category": "outdoor", "tags": ["camping", "cooking"], "popularity": 500, "available": false}
        ]
    })
}

fn neighbours() -> &'static str {
    r#"{"format": 1, "k": 3, "items": {
        "boots": [["socks", 1.0], ["tent", 0.4]],
        "socks": [["boots", 1.0]],
        "pan": [["kettle", 0.8], ["mug", 0.3]],
        "ghost": [["boots", 0.5]],
        "tent": [["ghost", 0.9], ["stove", 0.7]]
    }}"#
}

fn recommender(config: RecConfig) -> Recommender {
    let (catalog, issues) = Catalog::from_value(&shop()).expect("reads");
    assert!(issues.is_empty(), "{issues:?}");
    let (nbrs, issues) = Neighbours::from_json(neighbours(), &catalog).expect("reads");
    assert!(issues.is_empty(), "{issues:?}");
    Recommender::new(catalog, Some(nbrs), config)
}

fn no_diversity() -> RecConfig {
    RecConfig { diversity: 0.0, ..RecConfig::default() }
}

fn home(k: usize) -> RankRequest {
    RankRequest { k, ..Default::default() }
}

fn ids(out: &[Recommendation]) -> Vec<&str> {
    out.iter().map(|r| r.id.as_str()).collect()
}

fn viewed(r: &Recommender, items: &[&str]) -> Signals {
    let mut s = Signals::default();
    for (n, item) in items.iter().enumerate() {
        r.record(&mut s, item, SignalKind::View, None, Millis(NOW.0 - (items.len() - n) as u64 * MIN));
    }
    s
}

#[test]
fn a_new_visitor_gets_the_popular_available_items_with_popular_reasons() {
    let mut r = recommender(no_diversity());
    let out = r.rank(&Signals::default(), &[], &home(3), NOW).unwrap();
    // The stove is the most popular but unavailable.
    assert_eq!(ids(&out), ["pan", "kettle", "mug"]);
    for rec in &out {
        assert_eq!(rec.because.len(), 1);
        assert_eq!(rec.because[0].kind, ReasonKind::Popular);
        assert_eq!(rec.because[0].tag.as_deref(), Some("kitchen"));
    }
}

#[test]
fn viewing_an_item_brings_its_neighbours_up_and_says_why() {
    let mut r = recommender(no_diversity());
    let signals = viewed(&r, &["boots"]);
    let out = r.rank(&signals, &[], &home(3), NOW).unwrap();
    assert_eq!(out[0].id, "socks", "{out:#?}");
    assert!(!ids(&out).contains(&"boots"), "seen items are not recommended on home");
    let first = &out[0].because[0];
    assert_eq!((first.kind, first.item.as_deref(), first.signal), (ReasonKind::History, Some("boots"), Some("view")));
    assert_eq!(first.title.as_deref(), Some("Hiking boots"));
}

#[test]
fn every_part_of_a_score_is_explained_and_the_parts_add_up() {
    let mut r = recommender(RecConfig::default());
    let signals = viewed(&r, &["boots", "pan", "socks"]);
    let stated = vec![("coffee".to_owned(), 1.0)];
    let out = r.rank_explained(&signals, &stated, &home(5), NOW).unwrap();
    assert!(!out.is_empty());
    for (rec, parts) in &out {
        let sum: f32 = parts.iter().map(|p| p.weight).sum();
        assert!((sum - rec.score).abs() <= 1e-4 * rec.score.abs().max(1.0), "{} ≠ {} for {rec:#?}", sum, rec.score);
        assert!(rec.because.len() <= 3);
        assert!(rec.because.windows(2).all(|w| w[0].weight >= w[1].weight));
    }
    let kettle = out.iter().find(|(r, _)| r.id == "kettle").expect("kettle is recommended");
    assert!(kettle.0.because.iter().any(|b| b.kind == ReasonKind::Stated && b.tag.as_deref() == Some("coffee")));
}

#[test]
fn similar_uses_the_context_item_and_never_returns_it() {
    let mut r = recommender(no_diversity());
    let req = RankRequest { slot: Slot::Similar, k: 2, context: vec!["pan".into()], ..Default::default() };
    let out = r.rank(&Signals::default(), &[], &req, NOW).unwrap();
    assert_eq!(out[0].id, "kettle");
    assert!(!ids(&out).contains(&"pan"));
    assert_eq!(out[0].because[0].kind, ReasonKind::Context);
    assert_eq!(out[0].because[0].item.as_deref(), Some("pan"));

    // Without any history, nothing is called an interest: shared tags are "similar to pan".
    let all = r.rank_explained(&Signals::default(), &[], &RankRequest { k: 4, ..req.clone() }, NOW).unwrap();
    assert!(all.iter().all(|(_, parts)| parts.iter().all(|p| p.kind != ReasonKind::Interest)), "{all:#?}");
    assert!(all.iter().any(|(_, parts)| parts.iter().any(|p| p.kind == ReasonKind::Context && p.tag.is_none())));

    let unknown = RankRequest { slot: Slot::Similar, k: 2, context: vec!["gone".into()], ..Default::default() };
    let err = r.rank(&Signals::default(), &[], &unknown, NOW).unwrap_err();
    assert_eq!(err, RecError::UnknownItem { field: "context".into(), id: "gone".into() });
}

#[test]
fn cart_recommends_complements_not_the_cart() {
    let mut r = recommender(no_diversity());
    let req =
        RankRequest { slot: Slot::Cart, k: 3, context: vec!["boots".into(), "gone".into()], ..Default::default() };
    let out = r.rank(&Signals::default(), &[], &req, NOW).unwrap();
    assert_eq!(out[0].id, "socks");
    assert!(!ids(&out).contains(&"boots"));
}

#[test]
fn filters_are_always_respected() {
    let mut r = recommender(no_diversity());
    let mut signals = viewed(&r, &["boots"]);
    r.record(&mut signals, "socks", SignalKind::Purchase, None, NOW);
    r.record(&mut signals, "kettle", SignalKind::NotInterested, None, NOW);
    // Purchased and "not interested" never come back, even where seen items may.
    let req = RankRequest { slot: Slot::Similar, k: 10, context: vec!["pan".into()], ..Default::default() };
    let out = r.rank(&signals, &[], &req, NOW).unwrap();
    assert!(ids(&out).contains(&"boots"), "similar may show seen items");
    for gone in ["socks", "kettle", "pan", "stove"] {
        assert!(!ids(&out).contains(&gone), "{gone} in {:?}", ids(&out));
    }
    let req = RankRequest { k: 10, include_unavailable: true, any_tags: vec!["camping".into()], ..Default::default() };
    let out = r.rank(&signals, &[], &req, NOW).unwrap();
    let mut camping = ids(&out);
    camping.sort_unstable();
    assert_eq!(camping, ["stove", "tent"], "only camping items, the unavailable one included");
    let req =
        RankRequest { k: 10, no_tags: vec!["kitchen".into()], exclude: vec!["tent".into()], ..Default::default() };
    assert!(r.rank(&signals, &[], &req, NOW).unwrap().is_empty());
}

#[test]
fn visitor_controls_change_the_next_ranking() {
    let mut r = recommender(no_diversity());
    let config = r.config.clone();
    let mut signals = viewed(&r, &["boots", "pan"]);
    let before = r.rank(&signals, &[], &home(2), NOW).unwrap();
    assert!(ids(&before).contains(&"socks"));

    signals.mute("hiking", NOW);
    let muted = r.rank(&signals, &[], &home(5), NOW).unwrap();
    assert!(!ids(&muted).contains(&"socks"), "a muted tag's items are gone: {:?}", ids(&muted));

    signals.unmute("hiking", NOW);
    signals.forget(&config, "boots", NOW);
    let forgotten = r.rank_explained(&signals, &[], &home(5), NOW).unwrap();
    assert!(forgotten.iter().all(|(_, parts)| parts.iter().all(|p| p.item.as_deref() != Some("boots"))));
    // A forgotten item is also no longer "seen".
    assert!(forgotten.iter().any(|(r, _)| r.id == "boots"));

    signals.reset(&config, NOW);
    let reset = r.rank(&signals, &[], &home(3), NOW).unwrap();
    assert_eq!(reset, r.rank(&Signals::default(), &[], &home(3), NOW).unwrap());
}

#[test]
fn forgetting_and_resetting_survive_a_merge_with_an_older_tab() {
    let r = recommender(no_diversity());
    let config = r.config.clone();
    let old_tab = viewed(&r, &["boots", "pan"]);
    let mut this_tab = old_tab.clone();
    this_tab.forget(&config, "boots", NOW);
    this_tab.merge(old_tab.clone(), &config, NOW);
    assert!(this_tab.history.iter().all(|s| s.item != "boots"));
    this_tab.reset(&config, NOW);
    this_tab.merge(old_tab, &config, NOW);
    assert!(this_tab.history.is_empty());
    let (decoded, problems) = Signals::decode(&this_tab.encode()).unwrap();
    assert!(problems.is_empty());
    assert_eq!(decoded.reset_at, NOW);
}

#[test]
fn signals_fade_with_their_half_life() {
    let mut r = recommender(no_diversity());
    let mut signals = Signals::default();
    // Pan was viewed a year ago, boots a minute ago: boots' neighbours win.
    r.record(&mut signals, "pan", SignalKind::View, None, Millis(NOW.0 - 60 * Millis::DAY));
    r.record(&mut signals, "boots", SignalKind::View, None, Millis(NOW.0 - MIN));
    let out = r.rank(&signals, &[], &home(1), NOW).unwrap();
    assert_eq!(out[0].id, "socks");
    // Signals beyond `historyDays` are forgotten outright.
    r.record(&mut signals, "tent", SignalKind::View, None, NOW);
    signals.tidy(&r.config, Millis(NOW.0 + 91 * Millis::DAY));
    assert!(signals.history.is_empty());
}

#[test]
fn rules_boost_bury_and_pin() {
    let config = RecConfig::from_json(
        r#"{"diversity": 0, "rules": [
            {"tag": "camping", "boost": 5},
            {"item": "pan", "boost": -5},
            {"item": "mug", "pin": 0, "slots": ["home"]},
            {"item": "stove", "pin": 1}
        ]}"#,
    )
    .unwrap();
    let mut r = recommender(config);
    let out = r.rank(&Signals::default(), &[], &home(4), NOW).unwrap();
    // Mug pinned first; the unavailable stove cannot be pinned; tent boosted; pan buried.
    assert_eq!(ids(&out), ["mug", "tent", "kettle", "boots"]);
    assert_eq!(out.iter().map(|r| r.pinned).collect::<Vec<_>>(), [true, false, false, false]);
    assert!(out[1].because.iter().any(|b| b.kind == ReasonKind::Promoted && b.tag.as_deref() == Some("camping")));
    let similar = RankRequest { slot: Slot::Similar, k: 4, context: vec!["boots".into()], ..Default::default() };
    assert_ne!(r.rank(&Signals::default(), &[], &similar, NOW).unwrap()[0].id, "mug", "the pin is for home only");
}

#[test]
fn diversity_spreads_the_rail_over_categories() {
    let items: Vec<Value> = (0..20)
        .map(|n| {
            let tag = if n < 10 { "coffee" } else { "tea" };
            json!({"id": format!("i{n}"), "title": "x", "url": "/", "tags": [tag], "popularity": 100 - n})
        })
        .collect();
    let (catalog, _) = Catalog::from_value(&json!({"format": 1, "items": items})).unwrap();
    let count_tea = |diversity: f32| {
        let mut r = Recommender::new(catalog.clone(), None, RecConfig { diversity, ..RecConfig::default() });
        let out = r.rank(&Signals::default(), &[], &home(5), NOW).unwrap();
        out.iter().filter(|rec| rec.id[1..].parse::<u32>().unwrap() >= 10).count()
    };
    assert_eq!(count_tea(0.0), 0);
    assert!(count_tea(0.5) >= 1);
}

#[test]
fn rankings_are_deterministic() {
    let mut r = recommender(RecConfig::default());
    let signals = viewed(&r, &["boots", "pan", "mug", "ghost"]);
    let a = r.rank(&signals, &[], &home(5), NOW).unwrap();
    let b = r.rank(&signals, &[], &home(5), NOW).unwrap();
    let mut fresh = recommender(RecConfig::default());
    assert_eq!(a, b);
    assert_eq!(a, fresh.rank(&signals, &[], &home(5), NOW).unwrap());
}

#[test]
fn bad_items_are_skipped_and_reported_by_index_and_the_good_kept() {
    let catalog = json!({
        "format": 1, "dim": 2,
        "items": [
            {"id": "a", "title": "A", "url": "/a", "embedding": [1, 0], "description": "kept, reported once"},
            {"id": "a", "title": "A again", "url": "/a2"},
            {"id": "b", "title": "B", "url": "/b", "embedding": [1, 0, 0]},
            {"id": "c", "title": "C", "url": "/c", "embedding": [1e39, 0]},
            {"id": "d", "title": 4, "url": "/d"},
            {"id": "e", "title": "E", "url": "/e", "price": -1, "description": "again"},
            {"id": "f", "title": "F", "url": "/f", "embedding": {"q": [127, 0], "scale": 0.01}},
            {"id": "g", "title": "G", "url": "/g", "embedding": {"q": [300, 0], "scale": 0.01}},
            "not an item"
        ]
    });
    let (catalog, issues) = Catalog::from_value(&catalog).unwrap();
    let fields: Vec<&str> = issues.listed.iter().map(|i| i.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "items[0].description",
            "items[4].title",
            "items[7].embedding",
            "items[8]",
            "items[1].id",
            "items[2].embedding",
            "items[3].embedding",
            "items[5].price"
        ]
    );
    assert_eq!(issues.skipped, 7);
    assert_eq!(catalog.len(), 2);
    assert!(catalog.position("a").is_some() && catalog.position("f").is_some());
    assert!(issues.listed[5].message.contains("expected 2 numbers"), "{:?}", issues.listed[5]);
}

#[test]
fn unreadable_catalogues_are_errors_naming_the_field() {
    for (json, field) in [
        ("not json", "catalog"),
        ("[]", "catalog"),
        (r#"{"items": []}"#, "format"),
        (r#"{"format": 2, "items": []}"#, "format"),
        (r#"{"format": 1}"#, "items"),
        (r#"{"format": 1, "items": {}}"#, "items"),
        (r#"{"format": 1, "dim": 5000, "items": []}"#, "dim"),
    ] {
        let err = Catalog::from_json(json).unwrap_err();
        assert_eq!(crate::error::ErrorCode::field(&err).as_deref(), Some(field), "{json}: {err}");
    }
    let (empty, _) = Catalog::from_json(r#"{"format": 1, "items": []}"#).unwrap();
    let mut r = Recommender::new(empty, None, RecConfig::default());
    assert!(r.rank(&Signals::default(), &[], &home(10), NOW).unwrap().is_empty());
}

#[test]
fn the_binary_form_ranks_exactly_like_the_json_form() {
    let mut json = recommender(RecConfig::default());
    let bytes = json.catalog.to_binary();
    assert!(binary::is_binary(&bytes));
    let (catalog, issues) = Catalog::from_binary(&bytes).unwrap();
    assert!(issues.is_empty(), "{issues:?}");
    let (nbrs, _) = Neighbours::from_json(neighbours(), &catalog).unwrap();
    let mut bin = Recommender::new(catalog, Some(nbrs), RecConfig::default());
    let signals = viewed(&json, &["boots", "kettle"]);
    for req in [home(5), RankRequest { slot: Slot::Similar, k: 3, context: vec!["tent".into()], ..Default::default() }]
    {
        let (a, b) = (json.rank(&signals, &[], &req, NOW).unwrap(), bin.rank(&signals, &[], &req, NOW).unwrap());
        assert_eq!(ids(&a), ids(&b));
        assert_eq!(a, b);
    }
    // Every truncation is an error, never a panic.
    for cut in 0..bytes.len() {
        assert!(Catalog::from_binary(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let mut extra = bytes.clone();
    extra.push(0);
    assert!(Catalog::from_binary(&extra).is_err());
}

#[test]
fn a_binary_item_with_a_bad_number_is_skipped() {
    let (catalog, _) = Catalog::from_value(&json!({"format": 1, "items": [
        {"id": "a", "title": "A", "url": "/a", "price": 1.5},
        {"id": "b", "title": "B", "url": "/b", "price": 2.5}
    ]}))
    .unwrap();
    let mut bytes = catalog.to_binary();
    // Replace b's price (the second 2.5f32) with NaN.
    let price = 2.5f32.to_le_bytes();
    let at = bytes.windows(4).rposition(|w| w == price).unwrap();
    bytes[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    let (catalog, issues) = Catalog::from_binary(&bytes).unwrap();
    assert_eq!(catalog.len(), 1);
    assert_eq!(issues.listed[0].field, "items[1].price");
}

#[test]
fn a_hundred_thousand_items_load_and_rank() {
    let items: Vec<Value> = (0..100_000)
        .map(|n| {
            json!({"id": format!("i{n}"), "title": "t", "url": "/", "tags": [format!("t{}", n % 300), format!("c{}", n % 7)],
                   "popularity": n % 1000, "embedding": [(n % 13) as f32 - 6.0, (n % 5) as f32, 1.0, -0.5]})
        })
        .collect();
    let (catalog, issues) = Catalog::from_value(&json!({"format": 1, "dim": 4, "items": items})).unwrap();
    assert!(issues.is_empty());
    let mut r = Recommender::new(catalog, None, RecConfig::default());
    let signals = viewed(&r, &["i1", "i2", "i99999", "missing"]);
    let out = r.rank(&signals, &[], &home(10), NOW).unwrap();
    assert_eq!(out.len(), 10);
    assert!(out.iter().all(|rec| rec.score.is_finite()));
}

#[test]
fn neighbours_links_to_unknown_items_are_dropped_and_bad_weights_reported() {
    let (catalog, _) = Catalog::from_value(&shop()).unwrap();
    let (nbrs, issues) = Neighbours::from_json(
        r#"{"format": 1, "items": {"boots": [["socks", 2], ["tent", "x"], ["boots", 1], ["gone", 0.3]], "pan": 3}}"#,
        &catalog,
    )
    .unwrap();
    let fields: Vec<&str> = issues.listed.iter().map(|i| i.field.as_str()).collect();
    assert_eq!(fields, ["items.boots[0]", "items.boots[1]", "items.pan"]);
    assert_eq!(nbrs.unknown, 1);
    assert_eq!(nbrs.links(), 0, "self links are dropped");
}

#[test]
fn the_ranking_config_reports_every_problem_with_its_path() {
    let err = RecConfig::from_json(
        r#"{"weights": {"tags": -1, "colour": 1}, "signals": {"view": {"weight": "a"}, "like": {}},
            "events": {"product_view": {"signal": "stare"}}, "diversity": 2,
            "rules": [{"tag": "x", "pin": 0}, {"boost": 1}], "extra": true}"#,
    )
    .unwrap_err();
    let paths: Vec<&str> = err.issues().iter().map(|i| i.path.as_str()).collect();
    for expected in [
        "extra",
        "weights.colour",
        "weights.tags",
        "signals.like",
        "signals.view.weight",
        "events.product_view.signal",
        "events.product_view.item",
        "diversity",
        "rules[0].pin",
        "rules[1]",
    ] {
        assert!(paths.contains(&expected), "{expected} missing from {paths:?}");
    }
}

#[test]
fn rank_requests_are_read_with_field_names() {
    let req = RankRequest::from_value(&json!({"slot": "cart", "k": 4, "context": ["a", "b"], "tags": {"noneOf": "x"}}))
        .unwrap();
    assert_eq!((req.slot, req.k, req.context.len(), req.no_tags.clone()), (Slot::Cart, 4, 2, vec!["x".to_owned()]));
    for (bad, field) in [
        (json!({"slot": "sidebar"}), "slot"),
        (json!({"k": 0}), "k"),
        (json!({"k": 101}), "k"),
        (json!({"context": [1]}), "context[0]"),
        (json!({"tags": {"allOf": []}}), "tags.allOf"),
        (json!({"includeSeen": "yes"}), "includeSeen"),
        (json!({"colour": 1}), "colour"),
        (json!(5), "options"),
    ] {
        let err = RankRequest::from_value(&bad).unwrap_err();
        assert_eq!(crate::error::ErrorCode::field(&err).as_deref(), Some(field), "{bad}");
    }
}

#[test]
fn signals_at_the_same_millisecond_keep_their_order_and_merge_once() {
    let r = recommender(no_diversity());
    let mut a = Signals::default();
    for item in ["pan", "boots", "mug"] {
        r.record(&mut a, item, SignalKind::View, None, NOW);
    }
    let order = |s: &Signals| s.history.iter().map(|s| s.item.clone()).collect::<Vec<_>>();
    assert_eq!(order(&a), ["pan", "boots", "mug"]);
    a.merge(a.clone(), &r.config, NOW);
    assert_eq!(order(&a), ["pan", "boots", "mug"], "a merge with its own copy adds nothing");
}

#[test]
fn mutes_from_two_tabs_merge_tag_by_tag_and_the_last_click_wins() {
    let r = recommender(no_diversity());
    let (mut a, mut b) = (Signals::default(), Signals::default());
    a.mute("hiking", Millis(NOW.0 + 1));
    b.mute("cooking", Millis(NOW.0 + 2));
    a.merge(b.clone(), &r.config, NOW);
    let mut muted: Vec<&str> = a.muted().collect();
    muted.sort_unstable();
    assert_eq!(muted, ["cooking", "hiking"]);
    // B unmutes hiking after A muted it: the unmute wins, in either direction of the merge.
    b.merge(a.clone(), &r.config, NOW);
    b.unmute("hiking", Millis(NOW.0 + 3));
    a.merge(b.clone(), &r.config, NOW);
    assert_eq!(a.muted().collect::<Vec<_>>(), ["cooking"]);
    let (decoded, problems) = Signals::decode(&a.encode()).unwrap();
    assert!(problems.is_empty());
    assert_eq!(decoded.muted().collect::<Vec<_>>(), ["cooking"]);
}

#[test]
fn a_forgotten_item_stays_forgotten_after_many_more_forgets_and_a_merge() {
    let r = recommender(no_diversity());
    let old_tab = viewed(&r, &["boots"]);
    let mut s = old_tab.clone();
    s.forget(&r.config, "boots", NOW);
    for n in 0..300 {
        s.forget(&r.config, &format!("other{n}"), Millis(NOW.0 + n));
    }
    s.merge(old_tab, &r.config, Millis(NOW.0 + 300));
    assert!(s.history.is_empty());
}

#[test]
fn controls_cover_signals_dated_in_the_future() {
    let r = recommender(no_diversity());
    let mut s = Signals::default();
    r.record(&mut s, "boots", SignalKind::View, None, Millis(NOW.0 + 3_600_000));
    s.forget(&r.config, "boots", NOW);
    assert!(s.history.is_empty());
    r.record(&mut s, "pan", SignalKind::View, None, Millis(NOW.0 + 3_600_000));
    s.reset(&r.config, NOW);
    assert!(s.history.is_empty());
}

#[test]
fn a_repeated_neighbour_link_counts_once_and_is_explained_as_history() {
    let (catalog, _) = Catalog::from_value(&shop()).unwrap();
    let (nbrs, _) = Neighbours::from_json(
        r#"{"format": 1, "items": {"boots": [["socks", 0.9], ["tent", 0.5], ["socks", 0.1]]}}"#,
        &catalog,
    )
    .unwrap();
    let mut r = Recommender::new(catalog, Some(nbrs), no_diversity());
    let signals = viewed(&r, &["boots"]);
    let out = r.rank_explained(&signals, &[], &home(1), NOW).unwrap();
    let (socks, parts) = &out[0];
    assert_eq!(socks.id, "socks");
    assert!(parts.iter().all(|p| p.kind != ReasonKind::Promoted), "{parts:?}");
}
