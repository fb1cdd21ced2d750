//! Whatever a page passes to `track`, only declared properties are queued, each in its coarsened
//! form, and the stored queue reads back exactly what was queued.

use attune_core::collect::{recheck, sanitize, EventSpec, FieldRule, MAX_TEXT_CHARS};
use proptest::prelude::*;
use serde_json::{Map, Value};

fn spec() -> EventSpec {
    let declared: Value = serde_json::from_str(
        r#"{"path":"urlPath","ref":"urlOrigin","sku":"token","qty":"count","price":{"bucket":[10,50,100]},
            "size":{"oneOf":["s","m","l"]},"gift":"boolean","note":{"text":{"maxLength":40}},"score":"number"}"#,
    )
    .unwrap();
    declared.as_object().unwrap().iter().map(|(k, v)| (k.clone(), FieldRule::from_value(v).unwrap())).collect()
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,60}".prop_map(Value::from),
        "(https?://[a-z.]{1,12}(:[0-9]{2,4})?)?/[a-z/]{0,10}(\\?[a-z=&@.]{0,10})?(#[a-z]{0,5})?".prop_map(Value::from),
        Just(Value::Null),
        Just(serde_json::json!({"nested": "object"})),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof!["path", "ref", "sku", "qty", "price", "size", "gift", "note", "score", "email", "userId", "[a-z]{1,8}"]
        .prop_map(String::from)
}

proptest! {
    #[test]
    fn only_declared_coarsened_properties_survive(props in prop::collection::btree_map(key(), value(), 0..12)) {
        let spec = spec();
        let input: Map<String, Value> = props.into_iter().collect();
        let out = sanitize(&spec, &input);
        for (k, v) in &out.props {
            let rule = spec.get(k);
            prop_assert!(rule.is_some(), "undeclared {} left", k);
            prop_assert!(matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_)), "{} is {}", k, v);
            if let Value::String(s) = v {
                prop_assert!(s.chars().count() <= MAX_TEXT_CHARS);
            }
            match rule.unwrap() {
                FieldRule::UrlPath => prop_assert!(!v.as_str().unwrap().contains(['?', '#']), "query left: {}", v),
                FieldRule::UrlOrigin => prop_assert_eq!(v.as_str().unwrap().matches('/').count(), 2, "path left: {}", v),
                FieldRule::Token => prop_assert!(!v.as_str().unwrap().contains(char::is_whitespace)),
                _ => {}
            }
        }
        prop_assert_eq!(out.props.len() + out.stripped.len(), input.len(), "every input key is kept or reported");
        prop_assert_eq!(recheck(&spec, &out.props), out.props.clone(), "what was queued reads back unchanged");
    }
}
