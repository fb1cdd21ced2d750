//! The JSON Schema of the prompt config, for editors (autocompletion, tooltips, live checks).
//!
//! Built from the keys and limits the reader uses ([`super::config`]), so the two cannot drift:
//! a key the reader allows has a schema here or [`json_schema`] panics (and the tests fail).
//! The schema checks what JSON Schema can express — types, unknown keys, kinds, ranges, ids,
//! dates; the reader also checks what it cannot: declared purposes, the default language in
//! every text, unique ids, references between questions and dates in order.
//!
//! Only `scripts/gen-types.sh` (through `examples/prompts_schema.rs`) and the tests call it, so it
//! does not reach the wasm build.

use super::config::*;
use crate::purpose::NECESSARY;
use serde_json::{json, Map, Value};

/// Where the published schema lives (also its `$id`).
pub const SCHEMA_URL: &str = "https://unpkg.com/@attune/sdk/schema/prompts.schema.json";

/// The prompt config's JSON Schema (draft 2020-12).
pub fn json_schema() -> Value {
    let mut schema = object(
        "Progressive-profiling questions, their triggers and audience, and the fatigue rules.",
        &CONFIG_KEYS,
        &["questions"],
        |key| match key {
            SCHEMA_KEY => json!({
                "type": "string",
                "description": "The JSON Schema this file follows, for editors, e.g. \
                    \"./node_modules/@attune/sdk/schema/prompts.schema.json\". Not read by Attune.",
            }),
            "defaultLanguage" => json!({
                "type": "string",
                "minLength": LANGUAGE_TAG_LENGTH.start(),
                "maxLength": LANGUAGE_TAG_LENGTH.end(),
                "default": DEFAULT_LANGUAGE,
                "description": format!(
                    "Every text must have this language; used when the visitor's language has no translation \
                     (default {DEFAULT_LANGUAGE:?})."
                ),
            }),
            "fatigue" => object(
                "Limits across all questions, so that visitors are never nagged.",
                &FATIGUE.map(|c| c.key),
                &[],
                |key| {
                    let count = FATIGUE.into_iter().find(|c| c.key == key).expect("a fatigue key");
                    integer(count, fatigue_description(key))
                },
            ),
            "questions" => json!({
                "type": "array",
                "maxItems": MAX_QUESTIONS,
                "items": { "$ref": "#/$defs/question" },
                "description": format!(
                    "The questions (at most {MAX_QUESTIONS}). Among those that may show, the highest priority \
                     wins, then the one whose answer is expected to change recommendations most, then this order."
                ),
            }),
            other => unknown(other),
        },
    );
    let defs = json!({
        "question": question(),
        "option": object(
            "One answer of a choice question.",
            &OPTION_KEYS,
            &["id", "label"],
            |key| match key {
                "id" => id("The answer's id, unique within the question; conditions name it in `anyOf`."),
                "label" => texts("The answer as shown"),
                "tags" => json!({
                    "type": "array",
                    "items": { "type": "string" },
                    "description": "Catalogue tags the answer stands for: how answers feed recommendations.",
                }),
                other => unknown(other),
            },
        ),
        "condition": object(
            "A condition on an earlier answer.",
            &CONDITION_KEYS,
            &["question"],
            |key| match key {
                "question" => id("The id of the question whose answer counts."),
                "anyOf" => json!({
                    "type": "array",
                    "items": { "type": "string" },
                    "description": format!(
                        "Any of these answers (option ids, or {}); absent or empty: any answer at all.",
                        YES_NO_ANSWERS.map(|a| format!("{a:?}")).join("/")
                    ),
                }),
                other => unknown(other),
            },
        ),
        "trigger": object(
            "What must have happened before the question may show; all given conditions must hold.",
            &TRIGGER_KEYS,
            &[],
            |key| match key {
                "event" => object(
                    "An event the page tracked: seen `minCount` times (with these props) in this visit.",
                    &EVENT_KEYS,
                    &["name"],
                    |key| match key {
                        "name" => json!({ "type": "string", "description": "The event's name, as tracked." }),
                        "minCount" => {
                            integer(MIN_COUNT, "How many times the event must have been seen".to_owned())
                        }
                        "props" => json!({
                            "type": "object",
                            "description": "Only events whose props have these values count: property → value.",
                        }),
                        other => unknown(other),
                    },
                ),
                "url" => json!({
                    "type": "string",
                    "pattern": "^/",
                    "maxLength": MAX_URL,
                    "description": "The page's path must match this pattern, with `*` wildcards, e.g. \"/product*\".",
                }),
                "minPageViews" => integer(MIN_PAGE_VIEWS, "Page views in this session, at least".to_owned()),
                "minSecondsOnSite" => {
                    integer(MIN_SECONDS_ON_SITE, "Seconds since the session started, at least".to_owned())
                }
                "minSession" => integer(MIN_SESSION, "The visitor's session number, at least".to_owned()),
                other => unknown(other),
            },
        ),
        "id": {
            "type": "string",
            "pattern": format!("^[A-Za-z0-9_-]{{1,{MAX_ID}}}$"),
            "description": format!("1-{MAX_ID} characters of {ID_CHARS}."),
        },
        "texts": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_TEXT,
                "pattern": "\\S",
                "description": format!("The text in this language (1 to {MAX_TEXT} characters)."),
            },
            "description": format!(
                "Language tag → text (1 to {MAX_TEXT} characters); must include the default language."
            ),
        },
        "date": {
            "type": "string",
            "pattern": date_pattern(),
            "description": format!("A day, {DATE_FORMAT} (UTC)."),
        },
    });
    let top = schema.as_object_mut().expect("an object");
    let mut head = Map::new();
    head.insert("$schema".into(), json!("https://json-schema.org/draft/2020-12/schema"));
    head.insert("$id".into(), json!(SCHEMA_URL));
    head.insert("title".into(), json!("Attune prompt config"));
    head.append(top);
    head.insert("$defs".into(), defs);
    Value::Object(head)
}

fn question() -> Value {
    let mut q = object(
        "A question: what to ask, why, for which purpose, and when.",
        &QUESTION_KEYS,
        &QUESTION_REQUIRED,
        |key| match key {
            "id" => id("The question's id, unique among the questions."),
            "text" => texts("The question"),
            "kind" => json!({
                "enum": KINDS,
                "description": format!(
                    "{KIND_SINGLE:?} or {KIND_MULTIPLE:?} (with `options`), {KIND_SCALE:?} (`min`, `max`), \
                     {KIND_YES_NO:?} or {KIND_TEXT:?} (`maxLength`)."
                ),
            }),
            "options" => json!({
                "type": "array",
                "minItems": 2,
                "items": { "$ref": "#/$defs/option" },
                "description": format!("The answers of a {KIND_SINGLE:?} or {KIND_MULTIPLE:?} question (at least 2)."),
            }),
            "min" => json!({
                "type": "integer",
                "default": SCALE_DEFAULT.0,
                "description": format!("The lowest value of a {KIND_SCALE:?} question (default {}).", SCALE_DEFAULT.0),
            }),
            "max" => json!({
                "type": "integer",
                "default": SCALE_DEFAULT.1,
                "description": format!(
                    "The highest value of a {KIND_SCALE:?} question (default {}): above `min`, at most \
                     {MAX_SCALE_STEPS} steps.",
                    SCALE_DEFAULT.1
                ),
            }),
            "maxLength" => {
                integer(MAX_LENGTH, format!("The longest answer to a {KIND_TEXT:?} question, in characters"))
            }
            "purpose" => json!({
                "type": "string",
                "pattern": "^[a-z][a-z0-9_-]{0,31}$",
                "not": { "const": NECESSARY },
                "examples": ["personalization", "marketing", "analytics"],
                "description": format!(
                    "A declared consent purpose (not {NECESSARY:?}): the question is never shown, and no answer \
                     stored, unless it is granted; withdrawing it forgets the answers."
                ),
            }),
            "why" => texts("Why the question is asked, shown with it"),
            "usedFor" => texts("What the answer is used for, shown with the question"),
            "retentionDays" => json!({
                "type": "integer",
                "minimum": MIN_RETENTION_DAYS,
                "maximum": RETENTION_DAYS.max,
                "description": format!(
                    "The answer is kept this many days ({MIN_RETENTION_DAYS} to {}); the question is not asked again \
                     before.",
                    RETENTION_DAYS.max
                ),
            }),
            "priority" => json!({
                "type": "integer",
                "minimum": PRIORITY.start(),
                "maximum": PRIORITY.end(),
                "default": 0,
                "description": format!("Higher first ({} to {}, default 0).", PRIORITY.start(), PRIORITY.end()),
            }),
            "requires" => conditions("Only after these questions were answered (with one of `anyOf`, if given)."),
            "trigger" => json!({
                "$ref": "#/$defs/trigger",
                "description": "All given conditions must hold: an event seen `minCount` times (with these props), \
                    a path pattern with `*`, page views, seconds on site, session number.",
            }),
            "audience" => conditions("Only for visitors whose earlier answers match all of these."),
            "start" => json!({
                "$ref": "#/$defs/date",
                "description": format!("The first day the question may show, {DATE_FORMAT} (UTC)."),
            }),
            "end" => json!({
                "$ref": "#/$defs/date",
                "description": format!(
                    "The day the question stops showing (from midnight UTC), {DATE_FORMAT}; after `start`."
                ),
            }),
            other => unknown(other),
        },
    );
    // The keys of one kind are refused on the others, as the reader does.
    let when_kind = |kinds: &[&str], keys: &[&str], required: bool| {
        let refused: Map<String, Value> = keys.iter().map(|k| ((*k).to_owned(), json!(false))).collect();
        let mut rule = json!({
            "if": { "properties": { "kind": { "enum": kinds } }, "required": ["kind"] },
            "else": { "properties": refused },
        });
        if required {
            rule["then"] = json!({ "required": keys });
        }
        rule
    };
    q["allOf"] = json!([
        when_kind(&CHOICE_KINDS, &["options"], true),
        when_kind(&[KIND_SCALE], &["min", "max"], false),
        when_kind(&[KIND_TEXT], &[MAX_LENGTH.key], false),
    ]);
    q
}

/// An object that refuses unknown keys; `property` gives the schema of each of `keys`.
fn object(description: &str, keys: &[&str], required: &[&str], property: impl Fn(&str) -> Value) -> Value {
    let properties: Map<String, Value> = keys.iter().map(|k| ((*k).to_owned(), property(k))).collect();
    let mut schema = json!({
        "type": "object",
        "description": description,
        "properties": properties,
        "additionalProperties": false,
    });
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    schema
}

/// The reader allows a key this file does not describe: describe it.
fn unknown(key: &str) -> ! {
    panic!("the prompt config's JSON Schema has no entry for the key {key:?}")
}

/// The counts the reader takes as 1 when they are 0.
const ZERO_COUNTS_AS_ONE: [Count; 2] = [MAX_DISMISSALS, MAX_LENGTH];

fn integer(count: Count, description: String) -> Value {
    let note = if ZERO_COUNTS_AS_ONE.contains(&count) { "; 0 counts as 1" } else { "" };
    json!({
        "type": "integer",
        "minimum": 0,
        "maximum": count.max,
        "default": count.default,
        "description": format!("{description} (0 to {}, default {}{note}).", count.max, count.default),
    })
}

fn fatigue_description(key: &str) -> String {
    match key {
        "perSession" => "Most prompts shown per session (counted by session number)",
        "perDay" => "Most prompts shown per 24 hours",
        "perWeek" => "Most prompts shown per 7 days",
        "quietMinutes" => "No prompt this many minutes after any prompt",
        "dismissBackoffHours" => "A dismissed question waits this many hours, doubled with each further dismissal",
        "maxDismissals" => "After this many dismissals a question is never shown again",
        other => unknown(other),
    }
    .to_owned()
}

fn id(description: &str) -> Value {
    json!({ "$ref": "#/$defs/id", "description": format!("{description} 1-{MAX_ID} characters of {ID_CHARS}.") })
}

fn texts(what: &str) -> Value {
    json!({
        "$ref": "#/$defs/texts",
        "description": format!(
            "{what}, by language: language tag → text (1 to {MAX_TEXT} characters); must include the default \
             language."
        ),
    })
}

fn conditions(description: &str) -> Value {
    json!({ "type": "array", "items": { "$ref": "#/$defs/condition" }, "description": description })
}

/// `YYYY-MM-DD` in [`DATE_YEARS`], with the days each month can have (February 29th in any year).
fn date_pattern() -> String {
    assert_eq!((*DATE_YEARS.start(), *DATE_YEARS.end()), (1970, 9999), "update the year pattern");
    let year = "(?:19[7-9][0-9]|[2-9][0-9]{3})";
    let day = concat!(
        "(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])",
        "|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)",
        "|02-(?:0[1-9]|1[0-9]|2[0-9]))"
    );
    format!("^{year}-{day}$")
}
