//! The prompt config's JSON Schema agrees with the reader (`ProfilingConfig::from_value`):
//! - it accepts every config the reader accepts (examples, and random edits of a valid config);
//! - it rejects the broken configs whose problem JSON Schema can express;
//! - every object has the keys the reader allows, no more, and refuses others;
//! - every field has a description (the editor's tooltip).

use attune_core::profiling::config::ProfilingConfig;
use attune_core::profiling::schema::json_schema;
use attune_core::PurposeId;
use jsonschema::Validator;
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::OnceLock;

fn purposes() -> Vec<PurposeId> {
    ["necessary", "analytics", "personalization", "marketing"].iter().map(|p| PurposeId::parse(p).unwrap()).collect()
}

fn validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| jsonschema::draft202012::new(&json_schema()).expect("the schema compiles"))
}

fn schema_errors(doc: &Value) -> Vec<String> {
    validator().iter_errors(doc).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

fn reader(doc: &Value) -> Result<ProfilingConfig, Vec<(String, String)>> {
    ProfilingConfig::from_value(doc, &purposes())
}

/// A choice question, as the reader's own tests build them.
fn question(id: &str, extra: Value) -> Value {
    let mut q = json!({
        "id": id, "kind": "single", "purpose": "personalization", "retentionDays": 30,
        "text": {"en": "Which do you prefer?", "de": "Was magst du?"},
        "why": {"en": "To suggest better products."}, "usedFor": {"en": "Your suggestions."},
        "options": [{"id": "hiking", "label": {"en": "Hiking"}, "tags": ["hiking"]},
                    {"id": "cooking", "label": {"en": "Cooking"}, "tags": ["kitchen"]}]
    });
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            q.as_object_mut().unwrap().remove(k);
        } else {
            q[k] = v.clone();
        }
    }
    q
}

/// Every kind and every field, valid.
fn full_config() -> Value {
    json!({
        "$schema": "./node_modules/@attune/sdk/schema/prompts.schema.json",
        "defaultLanguage": "en",
        "fatigue": { "perSession": 1, "perDay": 2, "perWeek": 4, "quietMinutes": 10,
                     "dismissBackoffHours": 24, "maxDismissals": 3 },
        "questions": [
            question(
                "likes_outdoors",
                json!({"kind": "yesNo", "options": null, "text": {"en": "Do you like the outdoors?"}}),
            ),
            question("activity", json!({
                "kind": "multiple", "priority": 1000,
                "requires": [{ "question": "likes_outdoors", "anyOf": ["yes"] }],
                "audience": [{ "question": "likes_outdoors" }],
                "trigger": { "event": { "name": "product_view", "minCount": 2, "props": { "category": "outdoor" } },
                             "url": "/product*", "minPageViews": 2, "minSecondsOnSite": 20, "minSession": 1 },
                "start": "2028-02-29", "end": "2028-03-01"
            })),
            question("satisfaction", json!({"kind": "scale", "options": null, "min": 0, "max": 10, "priority": -1000})),
            question("wish", json!({
                "kind": "text", "options": null, "maxLength": 500, "retentionDays": 3650, "purpose": "marketing",
                "audience": [{"question": "activity", "anyOf": ["hiking"]}]
            })),
        ]
    })
}

fn assert_both_accept(doc: &Value) {
    if let Err(problems) = reader(doc) {
        panic!("the reader refuses {doc}: {problems:?}");
    }
    let errors = schema_errors(doc);
    assert!(errors.is_empty(), "the schema refuses {doc}: {errors:#?}");
}

#[test]
fn the_schema_is_a_valid_draft_2020_12_schema_with_an_id_and_a_title() {
    let schema = json_schema();
    jsonschema::meta::validate(&schema).expect("valid against the meta-schema");
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert!(schema["$id"].as_str().is_some_and(|id| id.starts_with("https://")));
    assert!(schema["title"].is_string());
}

#[test]
fn the_schema_accepts_every_config_the_reader_accepts() {
    assert_both_accept(&full_config());
    assert_both_accept(&json!({"questions": []}));
    assert_both_accept(&json!({"defaultLanguage": "de-CH", "questions": [question("a", json!({
        "text": {"de-CH": "Was magst du?"}, "why": {"de-CH": "Darum."}, "usedFor": {"de-CH": "Vorschläge."},
        "options": [{"id": "x", "label": {"de-CH": "X"}}, {"id": "y", "label": {"de-CH": "Y"}, "tags": []}]}))]}));
    // The configs of the reader's and the scheduler's tests.
    let trigger = json!({"trigger": {
        "event": {"name": "product_view", "minCount": 2, "props": {"category": "outdoor"}}, "url": "/product*"}});
    assert_both_accept(&json!({"questions": [question("a", trigger)]}));
    assert_both_accept(&json!({
        "fatigue": {"perSession": 5, "perDay": 5, "perWeek": 10, "quietMinutes": 30,
                    "dismissBackoffHours": 24, "maxDismissals": 2},
        "questions": [question("a", json!({})), question("b", json!({"priority": -1}))]
    }));
    assert_both_accept(&json!({
        "fatigue": {"quietMinutes": 0, "perSession": 9, "perDay": 9, "perWeek": 9},
        "questions": [question("a", json!({"retentionDays": 2}))]
    }));
    assert_both_accept(&json!({"questions": [
        question("a", json!({})),
        question("b", json!({"priority": 5, "requires": [{"question": "a", "anyOf": ["hiking"]}]})),
    ]}));
    // Limits at their edges, and the values the reader takes as 1.
    assert_both_accept(&json!({
        "fatigue": {"perSession": 100, "perDay": 0, "perWeek": 500, "quietMinutes": 10_080,
                    "dismissBackoffHours": 8_760, "maxDismissals": 0},
        "questions": [
            question("a", json!({"id": "A-z_0".repeat(12) + "abcd", "retentionDays": 1,
                                 "start": "1970-01-01", "end": "9999-12-31"})),
            question("b", json!({"kind": "text", "options": null, "maxLength": 0,
                "trigger": {"event": {"name": "", "minCount": 1000}, "url": format!("/{}", "x".repeat(199)),
                            "minPageViews": 10_000, "minSecondsOnSite": 86_400, "minSession": 10_000}})),
            question("c", json!({"kind": "scale", "options": null, "min": -50, "max": 50})),
            question("d", json!({"kind": "scale", "options": null, "why": {"en": "é".repeat(500)}})),
        ]
    }));
}

#[test]
fn the_example_in_the_docs_passes_the_schema_and_the_reader() {
    let docs = include_str!("../../docs/profiling.md");
    let start = docs.find("```json\n").expect("a JSON example") + "```json\n".len();
    let end = start + docs[start..].find("```").expect("the example's end");
    let mut example: Value = serde_json::from_str(&docs[start..end]).expect("the example is JSON");
    let errors = schema_errors(&example);
    assert!(errors.is_empty(), "{errors:#?}");
    // It names a yes/no question it leaves out for brevity.
    let likes = question("likes_outdoors", json!({"kind": "yesNo", "options": null}));
    example["questions"].as_array_mut().unwrap().push(likes);
    assert_both_accept(&example);
}

/// A config of one question: the template with `extra` fields (`null` removes one).
fn one(extra: Value) -> Value {
    json!({"questions": [question("a", extra)]})
}

fn options(first: Value) -> Value {
    json!({"options": [first, {"id": "y", "label": {"en": "Y"}}]})
}

#[test]
fn the_schema_rejects_the_broken_configs_it_can_express() {
    let scale = |extra: Value| {
        let mut q = json!({"kind": "scale", "options": null});
        q.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        one(q)
    };
    let trigger = |t: Value| one(json!({ "trigger": t }));
    let corpus: Vec<(&str, Value)> = vec![
        ("not an object", json!([])),
        ("no questions", json!({})),
        ("unknown top-level key", json!({"questions": [], "colour": "red"})),
        ("__proto__ at the top", json!({"__proto__": {}, "questions": []})),
        ("__proto__ in a question", one(json!({"__proto__": {"polluted": true}}))),
        ("unknown question key", one(json!({"colour": "red"}))),
        ("unknown fatigue key", json!({"fatigue": {"perMonth": 3}, "questions": []})),
        ("unknown option key", one(options(json!({"id": "x", "label": {"en": "X"}, "colour": 1})))),
        ("unknown trigger key", trigger(json!({"when": "now"}))),
        ("unknown event key", trigger(json!({"event": {"name": "x", "count": 2}}))),
        ("unknown condition key", one(json!({"audience": [{"question": "a", "answer": "x"}]}))),
        ("$schema not a string", json!({"$schema": 1, "questions": []})),
        ("questions not an array", json!({"questions": {}})),
        (
            "too many questions",
            json!({"questions": (0..201).map(|i| question(&format!("q{i}"), json!({}))).collect::<Vec<_>>()}),
        ),
        ("defaultLanguage too short", json!({"defaultLanguage": "e", "questions": []})),
        ("defaultLanguage not a string", json!({"defaultLanguage": 1, "questions": []})),
        ("negative fatigue count", json!({"fatigue": {"perDay": -1}, "questions": []})),
        ("fatigue count above its max", json!({"fatigue": {"perWeek": 501}, "questions": []})),
        ("fatigue count not a whole number", json!({"fatigue": {"quietMinutes": 1.5}, "questions": []})),
        ("fatigue not an object", json!({"fatigue": [], "questions": []})),
        ("missing id", one(json!({"id": null}))),
        ("missing text", one(json!({"text": null}))),
        ("missing kind", one(json!({"kind": null}))),
        ("missing retentionDays", one(json!({"retentionDays": null}))),
        ("bad kind", one(json!({"kind": "dropdown"}))),
        ("kind not a string", one(json!({"kind": 1}))),
        ("id with a space", one(json!({"id": "has space"}))),
        ("empty id", one(json!({"id": ""}))),
        ("id too long", one(json!({"id": "x".repeat(65)}))),
        ("id not a string", one(json!({"id": 7}))),
        ("bad option id", one(options(json!({"id": "x!", "label": {"en": "X"}})))),
        ("tags not strings", one(options(json!({"id": "x", "label": {"en": "X"}, "tags": [3]})))),
        ("text too long", one(json!({"why": {"en": "x".repeat(100_000)}}))),
        ("blank text", one(json!({"usedFor": {"en": "   "}}))),
        ("text not a string", one(json!({"text": {"en": 1}}))),
        ("texts not an object", one(json!({"text": "Hello"}))),
        ("no text at all", one(json!({"text": {}}))),
        ("purpose necessary", one(json!({"purpose": "necessary"}))),
        ("purpose not an id", one(json!({"purpose": "Ads!"}))),
        ("retentionDays a string", one(json!({"retentionDays": "forever"}))),
        ("retentionDays 0", one(json!({"retentionDays": 0}))),
        ("retentionDays too long", one(json!({"retentionDays": 3651}))),
        ("priority too high", one(json!({"priority": 1001}))),
        ("priority too low", one(json!({"priority": -1001}))),
        ("choice without options", one(json!({"options": null}))),
        ("one option", one(json!({"options": [{"id": "x", "label": {"en": "X"}}]}))),
        ("no options", one(json!({"options": []}))),
        ("options on yesNo", one(json!({"kind": "yesNo"}))),
        ("min on text", one(json!({"kind": "text", "options": null, "min": 1}))),
        ("max on single", one(json!({"max": 5}))),
        ("maxLength on scale", scale(json!({"maxLength": 5}))),
        ("scale min not a number", scale(json!({"min": "1"}))),
        ("maxLength above its max", one(json!({"kind": "text", "options": null, "maxLength": 501}))),
        ("trigger not an object", one(json!({"trigger": [[[1]]]}))),
        ("event without a name", trigger(json!({"event": {"minCount": 2}}))),
        ("event name not a string", trigger(json!({"event": {"name": 5}}))),
        ("minCount above its max", trigger(json!({"event": {"name": "x", "minCount": 1001}}))),
        ("props not an object", trigger(json!({"event": {"name": "x", "props": []}}))),
        ("url without a slash", trigger(json!({"url": "product*"}))),
        ("url too long", trigger(json!({"url": format!("/{}", "x".repeat(200))}))),
        ("minSecondsOnSite above a day", trigger(json!({"minSecondsOnSite": 86_401}))),
        ("requires not an array", one(json!({"requires": {"question": "a"}}))),
        ("condition without a question", one(json!({"audience": [{"anyOf": ["x"]}]}))),
        ("anyOf not strings", one(json!({"audience": [{"question": "a", "anyOf": [true]}]}))),
        ("date with a suffix", one(json!({"start": "2026-02-01x"}))),
        ("February 30th", one(json!({"start": "2026-02-30"}))),
        ("April 31st", one(json!({"end": "2027-04-31"}))),
        ("month 13", one(json!({"start": "2026-13-01"}))),
        ("before 1970", one(json!({"start": "1969-12-31"}))),
        ("a sign in the month", one(json!({"start": "2026-+1-01"}))),
        ("a date with a time", one(json!({"end": "2026-01-01T00:00:00Z"}))),
        ("a date as a number", one(json!({"end": 20260101}))),
    ];
    for (what, doc) in corpus {
        assert!(reader(&doc).is_err(), "{what}: the reader accepts {doc}");
        assert!(!schema_errors(&doc).is_empty(), "{what}: the schema accepts {doc}");
    }
}

/// The schema of the object at `path` (a JSON pointer into the schema).
fn schema_object<'a>(schema: &'a Value, pointer: &str) -> &'a Value {
    schema.pointer(pointer).unwrap_or_else(|| panic!("no {pointer} in the schema"))
}

/// The keys the reader names when it refuses `zzz` at that spot.
fn reader_keys(doc: Value, path: &str) -> BTreeSet<String> {
    let problems = reader(&doc).expect_err("an unknown key is refused");
    let at = if path.is_empty() { "zzz".to_owned() } else { format!("{path}.zzz") };
    let (_, message) = problems.iter().find(|(p, _)| *p == at).unwrap_or_else(|| panic!("no {at} in {problems:?}"));
    let list = message.split_once("expected one of ").expect("the allowed keys").1;
    list.split(", ").map(|k| k.trim_matches('`').to_owned()).collect()
}

#[test]
fn every_object_has_the_keys_the_reader_allows_and_refuses_others() {
    let schema = json_schema();
    let with = |pointer: &str| {
        let mut doc = full_config();
        doc.pointer_mut(pointer).unwrap()["zzz"] = json!(1);
        doc
    };
    let spots = [
        ("", "", ""),
        ("/fatigue", "fatigue", "/properties/fatigue"),
        ("/questions/1", "questions[1]", "/$defs/question"),
        ("/questions/1/options/0", "questions[1].options[0]", "/$defs/option"),
        ("/questions/1/requires/0", "questions[1].requires[0]", "/$defs/condition"),
        ("/questions/1/audience/0", "questions[1].audience[0]", "/$defs/condition"),
        ("/questions/1/trigger", "questions[1].trigger", "/$defs/trigger"),
        ("/questions/1/trigger/event", "questions[1].trigger.event", "/$defs/trigger/properties/event"),
    ];
    for (doc_pointer, reader_path, schema_pointer) in spots {
        let object = schema_object(&schema, schema_pointer);
        let described: BTreeSet<String> = object["properties"].as_object().unwrap().keys().cloned().collect();
        assert_eq!(described, reader_keys(with(doc_pointer), reader_path), "keys at {reader_path:?}");
        assert_eq!(object["additionalProperties"], json!(false), "{schema_pointer} refuses unknown keys");
        assert!(!schema_errors(&with(doc_pointer)).is_empty(), "the schema refuses zzz at {reader_path:?}");
    }
}

/// Every object in the schema refuses unknown keys, and every property has a description.
#[test]
fn every_field_is_described() {
    fn walk(node: &Value, at: &str) {
        match node {
            Value::Object(map) => {
                if let Some(Value::Object(properties)) = map.get("properties") {
                    if !at.contains("/if") && !at.contains("/else") {
                        assert_eq!(map.get("additionalProperties"), Some(&json!(false)), "{at}");
                        for (key, property) in properties {
                            let described = property["description"].as_str().is_some_and(|d| d.len() > 10);
                            assert!(described, "{at}/properties/{key} has no description");
                        }
                    }
                }
                for (key, value) in map {
                    walk(value, &format!("{at}/{key}"));
                }
            }
            Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| walk(v, &format!("{at}/{i}"))),
            _ => {}
        }
    }
    let schema = json_schema();
    walk(&schema, "");
    for (name, def) in schema["$defs"].as_object().unwrap() {
        assert!(def["description"].is_string(), "$defs/{name} has no description");
    }
}

#[test]
fn a_schema_key_lets_editors_find_the_schema_and_is_otherwise_ignored() {
    let doc = json!({"$schema": "https://unpkg.com/@attune/sdk/schema/prompts.schema.json", "questions": []});
    assert_both_accept(&doc);
    let problems = reader(&json!({"$schema": true, "questions": []})).unwrap_err();
    assert_eq!(
        problems,
        [("$schema".to_owned(), "expected the JSON Schema's URL or path, found a boolean".to_owned())]
    );
    let problems = reader(&json!({"$schemas": "x", "questions": []})).unwrap_err();
    assert!(problems[0].1.starts_with("unknown field `$schemas`, expected one of `$schema`"), "{problems:?}");
}

#[test]
fn keys_of_another_kind_and_impossible_dates_are_refused_not_ignored() {
    let errors = |doc: Value| -> Vec<String> {
        reader(&doc).unwrap_err().into_iter().map(|(p, m)| format!("{p}: {m}")).collect()
    };
    let errs = errors(json!({"questions": [
        question("a", json!({"min": 1, "maxLength": 5})),
        question("b", json!({"kind": "scale", "options": null, "min": "one", "max": 5.5})),
        question("c", json!({"trigger": {"event": {"name": 5}}, "start": "2026-02-30", "end": "2027-02-29"})),
        question("d", json!({"kind": "scale", "options": null, "min": i64::MIN, "max": i64::MAX})),
    ]}));
    let expected = [
        "questions[0].min: only \"scale\" questions have min and max",
        "questions[0].maxLength: only \"text\" questions have maxLength",
        "questions[1].min: expected a whole number, found a string",
        "questions[1].max: expected a whole number, found a number",
        "questions[2].trigger.event.name: expected an event name, found a number",
        "questions[2].start: expected a date \"YYYY-MM-DD\", found \"2026-02-30\"",
        "questions[2].end: expected a date \"YYYY-MM-DD\", found \"2027-02-29\"",
        "questions[3].max: expected min < max with at most 100 steps",
    ];
    for e in expected {
        assert!(errs.iter().any(|x| x.starts_with(e)), "missing {e:?} in {errs:#?}");
    }
    let errs = errors(json!({"fatigue": {"perDay": -1, "perWeek": 1.5, "quietMinutes": "10"}, "questions": []}));
    assert_eq!(
        errs,
        [
            "fatigue.perDay: expected a whole number from 0 to 100, found -1",
            "fatigue.perWeek: expected a whole number from 0 to 500, found 1.5",
            "fatigue.quietMinutes: expected a whole number from 0 to 10080, found a string",
        ]
    );
}

/// A key the edits below may set, and values near every limit.
fn edit() -> impl Strategy<Value = (usize, String, Option<Value>)> {
    let keys = [
        "$schema",
        "defaultLanguage",
        "fatigue",
        "questions",
        "perSession",
        "perDay",
        "perWeek",
        "quietMinutes",
        "dismissBackoffHours",
        "maxDismissals",
        "id",
        "text",
        "kind",
        "options",
        "min",
        "max",
        "maxLength",
        "purpose",
        "why",
        "usedFor",
        "retentionDays",
        "priority",
        "requires",
        "trigger",
        "audience",
        "start",
        "end",
        "label",
        "tags",
        "question",
        "anyOf",
        "event",
        "url",
        "minPageViews",
        "minSecondsOnSite",
        "minSession",
        "name",
        "minCount",
        "props",
        "en",
        "__proto__",
    ];
    let values = prop_oneof![
        prop::sample::select(vec![
            -1001i64,
            -1000,
            -1,
            0,
            1,
            2,
            5,
            10,
            80,
            100,
            101,
            200,
            500,
            501,
            1000,
            1001,
            3650,
            3651,
            8760,
            8761,
            10_000,
            10_001,
            10_080,
            86_400,
            86_401,
            i64::MAX,
        ])
        .prop_map(Value::from),
        prop::sample::select(vec![
            "",
            " ",
            "x",
            "en",
            "e",
            "de-CH",
            "hiking",
            "yes",
            "no",
            "a",
            "has space",
            "/",
            "/p*",
            "p*",
            "single",
            "multiple",
            "scale",
            "yesNo",
            "text",
            "dropdown",
            "necessary",
            "personalization",
            "marketing",
            "Ads",
            "2026-02-28",
            "2026-02-29",
            "2028-02-29",
            "2026-02-30",
            "2026-04-31",
            "1969-12-31",
            "1970-01-01",
            "9999-12-31",
            "2026-13-01",
            "2026-1-01",
        ])
        .prop_map(Value::from),
        Just(json!(1.5)),
        Just(json!(true)),
        Just(json!([])),
        Just(json!({})),
        Just(json!(["hiking"])),
        Just(json!([{"question": "likes_outdoors"}])),
        Just(json!({"en": "Hi"})),
        Just(json!({"name": "x"})),
    ];
    (0..8usize, prop::sample::select(keys.to_vec()).prop_map(str::to_owned), prop::option::weighted(0.85, values))
}

fn apply(doc: &mut Value, (spot, key, value): &(usize, String, Option<Value>)) {
    let pointer = [
        "",
        "/fatigue",
        "/questions/1",
        "/questions/1/options/0",
        "/questions/1/requires/0",
        "/questions/1/trigger",
        "/questions/1/trigger/event",
        "/questions/2",
    ][*spot];
    let Some(Value::Object(map)) = doc.pointer_mut(pointer) else { return };
    match value {
        Some(v) => map.insert(key.clone(), v.clone()),
        None => map.remove(key),
    };
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// The schema is never stricter than the reader.
    #[test]
    fn whatever_the_reader_accepts_the_schema_accepts(edits in prop::collection::vec(edit(), 1..4)) {
        let mut doc = full_config();
        for e in &edits {
            apply(&mut doc, e);
        }
        if reader(&doc).is_ok() {
            let errors = schema_errors(&doc);
            prop_assert!(errors.is_empty(), "the schema refuses {doc}: {errors:#?}");
        }
    }

    /// The schema's purpose pattern is the purpose id's rule.
    #[test]
    fn the_purpose_pattern_matches_purpose_ids(s in "[a-zA-Z0-9_!-]{0,34}") {
        let doc = json!({"questions": [question("a", json!({"purpose": s}))]});
        let errors = schema_errors(&doc);
        let pattern_ok = !errors.iter().any(|e| e.starts_with("/questions/0/purpose") && e.contains("match"));
        prop_assert_eq!(pattern_ok, PurposeId::parse(&s).is_ok(), "{}", s);
    }
}

#[test]
fn problems_in_conditions_name_the_question_where_it_is_in_the_document() {
    let problems = reader(&json!({"questions": [
        question("broken", json!({"kind": "dropdown"})),
        question("a", json!({"requires": [{"question": "ghost"}]})),
        question("b", json!({"requires": [{"question": "broken"}], "audience": [{"question": "a", "anyOf": ["x"]}]})),
    ]}))
    .unwrap_err();
    let paths: Vec<&str> = problems.iter().map(|(p, _)| p.as_str()).collect();
    // A condition on the broken question is not reported again: its own problem says what to fix.
    assert_eq!(paths, ["questions[0].kind", "questions[1].requires[0].question", "questions[2].audience[0].anyOf"]);
}
