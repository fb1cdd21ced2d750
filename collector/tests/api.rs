//! Behaviour of the HTTP API, driven through the Router with `oneshot`.

mod common;
use common::{send, Reply};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{SystemTime, UNIX_EPOCH};

use attune_collector::config::{Config, DEFAULT_CSP};
use attune_collector::limit::Rate;
use attune_collector::{build_app, AppState, Store};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};

const HASH: &str = "9f2c000000000000000000000000000000000000000000000000000000000abc";

/// Capture time of the test events: an hour ago, well inside the default 30-day retention.
static TS: LazyLock<i64> = LazyLock::new(|| {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    now - 3_600_000
});

fn app_with(config: Config) -> Router {
    let store = Arc::new(Store::open(":memory:").unwrap());
    build_app(AppState::new(&config, store))
}

fn test_app() -> Router {
    app_with(Config { test_api: true, ..Config::default() })
}

fn event_id(i: usize) -> String {
    format!("{i:032x}")
}

/// A valid batch with `n` events (ids 0..n).
fn batch(n: usize) -> Value {
    let events: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "id": event_id(i),
                "name": "page_view",
                "purpose": "analytics",
                "ts": *TS + i as i64,
                "props": { "path": format!("/product/{i}") }
            })
        })
        .collect();
    json!({
        "v": 1,
        "siteId": "demo-shop",
        "sentAt": *TS + 1000,
        "consent": { "receiptHash": HASH, "granted": ["necessary", "analytics"] },
        "events": events
    })
}

fn post_raw(body: impl Into<Body>) -> Request<Body> {
    Request::post("/v1/batch")
        .header("host", "collector.test")
        .header("content-type", "application/json")
        .body(body.into())
        .unwrap()
}

async fn post(app: &Router, body: &Value) -> Reply {
    send(app, post_raw(serde_json::to_vec(body).unwrap())).await
}

async fn get(app: &Router, path: &str) -> Reply {
    send(app, Request::get(path).body(Body::empty()).unwrap()).await
}

async fn stored_events(app: &Router) -> Vec<Value> {
    let reply = get(app, "/__test/events").await;
    assert_eq!(reply.status, StatusCode::OK);
    reply.json()["events"].as_array().unwrap().clone()
}

/// Asserts a wire-format error response and that its message is useful.
fn assert_error(reply: &Reply, status: StatusCode, code: &str, field: Option<&str>) {
    let body = reply.json();
    assert_eq!(reply.status, status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    match field {
        Some(f) => assert_eq!(body["error"]["field"], f, "{body}"),
        None => assert!(body["error"].get("field").is_none(), "{body}"),
    }
    let message = body["error"]["message"].as_str().unwrap();
    assert!(!message.is_empty(), "{body}");
}

#[tokio::test]
async fn valid_batch_is_stored_and_visible_through_the_test_api() {
    let app = test_app();
    let reply = post(&app, &batch(3)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), json!({"accepted": 3, "duplicates": 0, "suppressed": 0, "rejected": []}));
    assert_eq!(reply.header("content-type"), Some("application/json"));

    let events = stored_events(&app).await;
    let ids: Vec<_> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [event_id(0), event_id(1), event_id(2)]);
    let first = &events[0];
    assert_eq!(first["siteId"], "demo-shop");
    assert_eq!(first["name"], "page_view");
    assert_eq!(first["purpose"], "analytics");
    assert_eq!(first["ts"], *TS);
    assert_eq!(first["props"], json!({"path": "/product/0"}));
    assert!(first["receivedAt"].as_i64().unwrap() > 1_700_000_000_000);

    let receipts = get(&app, "/__test/receipts").await.json();
    let receipts = receipts["receipts"].as_array().unwrap();
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0]["hash"], HASH);
    assert_eq!(receipts[0]["siteId"], "demo-shop");
    assert_eq!(receipts[0]["granted"], json!(["necessary", "analytics"]));
    assert!(receipts[0]["firstSeen"].as_i64().is_some());
    assert_eq!(receipts[0]["lastSeen"], receipts[0]["firstSeen"]);
}

#[tokio::test]
async fn the_same_batch_twice_counts_duplicates_and_stores_nothing_new() {
    let app = test_app();
    assert_eq!(post(&app, &batch(4)).await.json()["accepted"], 4);
    let again = post(&app, &batch(4)).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json(), json!({"accepted": 0, "duplicates": 4, "suppressed": 0, "rejected": []}));
    assert_eq!(stored_events(&app).await.len(), 4);
    // A retry that overlaps partly stores only the new ids.
    assert_eq!(
        post(&app, &batch(6)).await.json(),
        json!({"accepted": 2, "duplicates": 4, "suppressed": 0, "rejected": []})
    );
    assert_eq!(stored_events(&app).await.len(), 6);
    let receipts = get(&app, "/__test/receipts").await.json();
    assert_eq!(receipts["receipts"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn beacon_text_plain_bodies_are_accepted() {
    let app = test_app();
    let req = Request::post("/v1/batch")
        .header("content-type", "text/plain;charset=UTF-8")
        .body(Body::from(batch(1).to_string()))
        .unwrap();
    assert_eq!(send(&app, req).await.json()["accepted"], 1);
}

#[tokio::test]
async fn each_envelope_violation_rejects_the_whole_batch_naming_code_and_field() {
    type Mutate = fn(&mut Value);
    let cases: &[(&str, Mutate, &str, &str)] = &[
        (
            "missing top-level field",
            |b| {
                b.as_object_mut().unwrap().remove("consent");
            },
            "missing_field",
            "consent",
        ),
        (
            "missing receipt hash",
            |b| {
                b["consent"].as_object_mut().unwrap().remove("receiptHash");
            },
            "missing_field",
            "consent.receiptHash",
        ),
        ("unknown top-level field", |b| b["userId"] = json!("u1"), "unknown_field", "userId"),
        (
            "bad granted purpose",
            |b| b["consent"]["granted"] = json!(["necessary", 7]),
            "invalid_field",
            "consent.granted[1]",
        ),
        ("bad receipt hash", |b| b["consent"]["receiptHash"] = json!("abc"), "invalid_field", "consent.receiptHash"),
        ("wrong v", |b| b["v"] = json!(2), "invalid_field", "v"),
        ("v as string", |b| b["v"] = json!("1"), "invalid_field", "v"),
        ("bad siteId", |b| b["siteId"] = json!("demo shop"), "invalid_field", "siteId"),
        ("negative sentAt", |b| b["sentAt"] = json!(-5), "invalid_field", "sentAt"),
        ("empty events", |b| b["events"] = json!([]), "invalid_field", "events"),
        ("events not an array", |b| b["events"] = json!({}), "invalid_field", "events"),
        ("more than 500 events", |b| *b = batch(501), "invalid_field", "events"),
    ];
    for (name, mutate, code, field) in cases {
        let app = test_app();
        let mut body = batch(3);
        mutate(&mut body);
        let reply = post(&app, &body).await;
        let json = reply.json();
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{name}: {json}");
        assert_eq!(json["error"]["code"], *code, "{name}: {json}");
        assert_eq!(json["error"]["field"], *field, "{name}: {json}");
        assert!(json["error"]["message"].as_str().unwrap().len() > 10, "{name}: {json}");
        assert!(stored_events(&app).await.is_empty(), "{name}: batch must be rejected whole");
        let receipts = get(&app, "/__test/receipts").await.json();
        assert_eq!(receipts, json!({"receipts": []}), "{name}");
    }
}

#[tokio::test]
async fn a_bad_event_is_reported_by_index_and_the_others_are_stored() {
    type Mutate = fn(&mut Value);
    // (case, change to event 1, code, field, id reported)
    let cases: &[(&str, Mutate, &str, &str, bool)] = &[
        (
            "upper-case id",
            |e| e["id"] = json!("5D0C8E2F9B1A4C3D8E7F6A5B4C3D2E1F"),
            "invalid_field",
            "events[1].id",
            false,
        ),
        ("short id", |e| e["id"] = json!("abc"), "invalid_field", "events[1].id", false),
        (
            "missing ts",
            |e| {
                e.as_object_mut().unwrap().remove("ts");
            },
            "missing_field",
            "events[1].ts",
            true,
        ),
        ("unknown event field", |e| e["ip"] = json!("1.2.3.4"), "unknown_field", "events[1].ip", true),
        ("bad purpose", |e| e["purpose"] = json!("Analytics!"), "invalid_field", "events[1].purpose", true),
        (
            "purpose not granted",
            |e| e["purpose"] = json!("marketing"),
            "purpose_not_granted",
            "events[1].purpose",
            true,
        ),
        ("empty name", |e| e["name"] = json!(""), "invalid_field", "events[1].name", true),
        ("props not an object", |e| e["props"] = json!("x"), "invalid_field", "events[1].props", true),
        ("nested prop", |e| e["props"] = json!({"cart": {"n": 1}}), "invalid_field", "events[1].props.cart", true),
        ("null prop", |e| e["props"] = json!({"ref": null}), "invalid_field", "events[1].props.ref", true),
        ("bad prop key", |e| e["props"] = json!({"a-b": 1}), "invalid_field", "events[1].props", true),
        ("bad pid", |e| e["pid"] = json!("xyz"), "invalid_field", "events[1].pid", true),
        (
            "over 32 KiB",
            |e| {
                e["props"] = (0..17).map(|i| (format!("k{i}"), json!("x".repeat(2000)))).collect();
            },
            "too_large",
            "events[1]",
            true,
        ),
        ("event not an object", |e| *e = json!(null), "invalid_field", "events[1]", false),
    ];
    for (name, mutate, code, field, id_reported) in cases {
        let app = test_app();
        let mut body = batch(3);
        mutate(&mut body["events"][1]);
        let reply = post(&app, &body).await;
        let json = reply.json();
        assert_eq!(reply.status, StatusCode::OK, "{name}: {json}");
        assert_eq!((&json["accepted"], &json["duplicates"]), (&json!(2), &json!(0)), "{name}: {json}");
        let rejected = json["rejected"].as_array().unwrap();
        assert_eq!(rejected.len(), 1, "{name}: {json}");
        let r = &rejected[0];
        assert_eq!((&r["index"], &r["code"], &r["field"]), (&json!(1), &json!(code), &json!(field)), "{name}: {json}");
        let id = if *id_reported { json!(event_id(1)) } else { Value::Null };
        assert_eq!(r["id"], id, "{name}: {json}");
        assert!(r["message"].as_str().unwrap().len() > 10, "{name}: {json}");
        let ids: Vec<_> = stored_events(&app).await.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(ids, [event_id(0), event_id(2)], "{name}");
    }
}

#[tokio::test]
async fn a_batch_whose_events_are_all_rejected_stores_nothing() {
    let app = test_app();
    let mut body = batch(2);
    body["consent"]["granted"] = json!(["necessary"]);
    let json = post(&app, &body).await.json();
    assert_eq!(json["accepted"], 0);
    let codes: Vec<_> = json["rejected"].as_array().unwrap().iter().map(|r| r["code"].clone()).collect();
    assert_eq!(codes, [json!("purpose_not_granted"), json!("purpose_not_granted")]);
    assert!(stored_events(&app).await.is_empty());
    assert_eq!(get(&app, "/__test/receipts").await.json(), json!({"receipts": []}));
}

#[tokio::test]
async fn pid_is_stored_and_returned_only_when_sent() {
    let app = test_app();
    let mut body = batch(2);
    body["events"][0]["pid"] = json!("0123456789abcdef0123456789abcdef");
    body["events"][1]["props"] = json!({"productId": "p-42", "price": 19.99, "inStock": true});
    assert_eq!(post(&app, &body).await.json()["accepted"], 2);
    let events = stored_events(&app).await;
    assert_eq!(events[0]["pid"], "0123456789abcdef0123456789abcdef");
    assert!(events[1].get("pid").is_none(), "{}", events[1]);
    assert_eq!(events[1]["props"], json!({"productId": "p-42", "price": 19.99, "inStock": true}));
}

#[tokio::test]
async fn receipts_are_stored_once_per_distinct_site_hash_and_granted_list() {
    let app = test_app();
    post(&app, &batch(1)).await;
    post(&app, &batch(2)).await;
    let mut narrower = batch(3);
    narrower["consent"]["granted"] = json!(["analytics"]);
    post(&app, &narrower).await;
    let mut other_site = batch(4);
    other_site["siteId"] = json!("other-shop");
    post(&app, &other_site).await;
    let receipts = get(&app, "/__test/receipts").await.json();
    let seen: Vec<_> =
        receipts["receipts"].as_array().unwrap().iter().map(|r| (r["siteId"].clone(), r["granted"].clone())).collect();
    assert_eq!(
        seen,
        [
            (json!("demo-shop"), json!(["necessary", "analytics"])),
            (json!("demo-shop"), json!(["analytics"])),
            (json!("other-shop"), json!(["necessary", "analytics"])),
        ]
    );
}

#[tokio::test]
async fn messages_say_what_was_expected_and_found() {
    let app = test_app();
    let mut body = batch(1);
    body["events"][0]["id"] = json!(12);
    let json = post(&app, &body).await.json();
    assert_eq!(json["rejected"][0]["message"], "expected 32 lowercase hex characters, found number 12");
    let json = post(&app, &batch(600)).await.json();
    assert_eq!(json["error"]["message"], "expected an array of 1-500 events, found 600 events");
}

#[tokio::test]
async fn exactly_500_events_are_accepted() {
    let app = test_app();
    assert_eq!(post(&app, &batch(500)).await.json()["accepted"], 500);
}

#[tokio::test]
async fn not_json_is_invalid_json_without_a_field() {
    let app = test_app();
    let reply = send(&app, post_raw("{\"v\": 1,")).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_json", None);
    let reply = send(&app, post_raw("")).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_json", None);
}

#[tokio::test]
async fn invalid_utf8_is_invalid_json() {
    let app = test_app();
    let mut body = batch(1).to_string().into_bytes();
    // Corrupt a byte inside the event name string.
    let at = body.windows(9).position(|w| w == b"page_view").unwrap();
    body[at] = 0xff;
    let reply = send(&app, post_raw(body)).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_json", None);
    assert!(reply.json()["error"]["message"].as_str().unwrap().contains("UTF-8"));
    assert!(stored_events(&app).await.is_empty());
}

/// A valid batch padded with trailing whitespace to exactly `len` bytes.
fn padded_batch(len: usize) -> Vec<u8> {
    let mut body = batch(1).to_string().into_bytes();
    body.resize(len, b' ');
    body
}

#[tokio::test]
async fn bodies_over_512_kib_get_413_json() {
    let app = test_app();
    let limit = 512 * 1024;

    // Exactly at the limit is fine.
    let reply = send(&app, post_raw(padded_batch(limit))).await;
    assert_eq!(reply.status, StatusCode::OK);

    // One byte over, streamed without Content-Length.
    let reply = send(&app, post_raw(padded_batch(limit + 1))).await;
    assert_error(&reply, StatusCode::PAYLOAD_TOO_LARGE, "too_large", None);

    // Declared too large up front.
    let req = Request::post("/v1/batch")
        .header("content-length", (limit + 1).to_string())
        .body(Body::from(padded_batch(limit + 1)))
        .unwrap();
    assert_error(&send(&app, req).await, StatusCode::PAYLOAD_TOO_LARGE, "too_large", None);
    assert_eq!(stored_events(&app).await.len(), 1);
}

#[tokio::test]
async fn unknown_site_is_403_when_site_ids_are_configured() {
    let app = app_with(Config {
        site_ids: vec!["other-shop".into(), "demo-shop".into()],
        test_api: true,
        ..Config::default()
    });
    assert_eq!(post(&app, &batch(1)).await.status, StatusCode::OK);

    let mut body = batch(2);
    body["siteId"] = json!("someone-else");
    let reply = post(&app, &body).await;
    assert_error(&reply, StatusCode::FORBIDDEN, "unknown_site", Some("siteId"));
    assert_eq!(stored_events(&app).await.len(), 1);
}

#[tokio::test]
async fn any_valid_site_id_is_accepted_when_none_are_configured() {
    let app = test_app();
    let mut body = batch(1);
    body["siteId"] = json!("Any_Site-1");
    assert_eq!(post(&app, &body).await.status, StatusCode::OK);
}

#[tokio::test]
async fn test_api_is_404_unless_enabled() {
    let app = app_with(Config::default());
    assert_eq!(post(&app, &batch(1)).await.status, StatusCode::OK);
    assert_eq!(get(&app, "/__test/events").await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&app, "/__test/receipts").await.status, StatusCode::NOT_FOUND);
    let delete = Request::delete("/__test/events").body(Body::empty()).unwrap();
    assert_eq!(send(&app, delete).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn test_api_delete_clears_events_and_receipts() {
    let app = test_app();
    post(&app, &batch(2)).await;
    let delete = Request::delete("/__test/events").body(Body::empty()).unwrap();
    assert_eq!(send(&app, delete).await.status, StatusCode::NO_CONTENT);
    assert!(stored_events(&app).await.is_empty());
    let receipts = get(&app, "/__test/receipts").await.json();
    assert_eq!(receipts, json!({"receipts": []}));
    // Cleared ids can be stored again.
    assert_eq!(post(&app, &batch(2)).await.json()["accepted"], 2);
}

#[tokio::test]
async fn healthz_says_ok() {
    let reply = get(&app_with(Config::default()), "/healthz").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, b"ok");
}

static DIR_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory with a tiny site in it.
fn site_dir() -> PathBuf {
    let n = DIR_COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("attune-collector-site-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>home</title>").unwrap();
    std::fs::write(dir.join("product.html"), "<!doctype html><title>product</title>").unwrap();
    std::fs::write(dir.join("attune_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    dir
}

#[tokio::test]
async fn static_files_are_served_with_strict_headers() {
    let dir = site_dir();
    let app = app_with(Config { static_dir: Some(dir.clone()), ..Config::default() });

    let index = get(&app, "/").await;
    assert_eq!(index.status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&index.body).contains("<title>home</title>"));
    assert!(index.header("content-type").unwrap().starts_with("text/html"));
    assert_eq!(index.header("content-security-policy"), Some(DEFAULT_CSP));
    assert!(DEFAULT_CSP.contains("require-trusted-types-for 'script'"));
    assert_eq!(index.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(index.header("referrer-policy"), Some("no-referrer"));

    let product = get(&app, "/product.html").await;
    assert!(String::from_utf8_lossy(&product.body).contains("<title>product</title>"));
    assert_eq!(product.header("content-security-policy"), Some(DEFAULT_CSP));

    let wasm = get(&app, "/attune_bg.wasm").await;
    assert_eq!(wasm.status, StatusCode::OK);
    assert_eq!(wasm.header("content-type"), Some("application/wasm"));
    assert_eq!(wasm.body, b"\0asm\x01\0\0\0");
    assert_eq!(wasm.header("content-security-policy"), Some(DEFAULT_CSP));

    let missing = get(&app, "/nope.html").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let escape = get(&app, "/../Cargo.toml").await;
    assert_eq!(escape.status, StatusCode::NOT_FOUND);

    // The API still works next to the static files.
    assert_eq!(post(&app, &batch(1)).await.status, StatusCode::OK);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn csp_is_configurable() {
    let dir = site_dir();
    let app = app_with(Config { static_dir: Some(dir.clone()), csp: "default-src 'none'".into(), ..Config::default() });
    let index = get(&app, "/").await;
    assert_eq!(index.header("content-security-policy"), Some("default-src 'none'"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn without_a_static_dir_nothing_is_served_at_root() {
    let app = app_with(Config::default());
    assert_eq!(get(&app, "/").await.status, StatusCode::NOT_FOUND);
}

fn cors_app() -> Router {
    app_with(Config { allowed_origins: vec!["https://shop.example".into()], test_api: true, ..Config::default() })
}

fn post_from(origin: &str, body: &Value) -> Request<Body> {
    Request::post("/v1/batch")
        .header("host", "collector.test")
        .header("origin", origin)
        .header("content-type", "text/plain")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn preflight_from(origin: &str) -> Request<Body> {
    Request::builder()
        .method(Method::OPTIONS)
        .uri("/v1/batch")
        .header("host", "collector.test")
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn disallowed_origin_gets_403_and_nothing_is_stored() {
    let app = cors_app();
    let reply = send(&app, post_from("https://evil.example", &batch(1))).await;
    assert_error(&reply, StatusCode::FORBIDDEN, "origin_not_allowed", None);
    assert_eq!(reply.header("access-control-allow-origin"), None);
    assert!(stored_events(&app).await.is_empty());

    let preflight = send(&app, preflight_from("https://evil.example")).await;
    assert_eq!(preflight.status, StatusCode::FORBIDDEN);
    assert_eq!(preflight.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn allowed_origin_gets_cors_headers() {
    let app = cors_app();
    let preflight = send(&app, preflight_from("https://shop.example")).await;
    assert_eq!(preflight.status, StatusCode::NO_CONTENT);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("https://shop.example"));
    assert!(preflight.header("access-control-allow-methods").unwrap().contains("POST"));
    assert!(preflight.header("access-control-allow-headers").unwrap().contains("content-type"));
    assert_eq!(preflight.header("vary"), Some("Origin"));

    let reply = send(&app, post_from("https://shop.example", &batch(1))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("access-control-allow-origin"), Some("https://shop.example"));

    // Errors carry the header too, so the caller's script can read them.
    let mut bad = batch(1);
    bad["v"] = json!(9);
    let reply = send(&app, post_from("https://shop.example", &bad)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.header("access-control-allow-origin"), Some("https://shop.example"));
}

#[tokio::test]
async fn same_origin_is_always_allowed_without_cors_headers() {
    let app = test_app();
    let reply = send(&app, post_from("http://collector.test", &batch(1))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("access-control-allow-origin"), None);
    // Any cross-origin caller is refused when no origins are configured.
    let reply = send(&app, post_from("https://shop.example", &batch(1))).await;
    assert_error(&reply, StatusCode::FORBIDDEN, "origin_not_allowed", None);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn post_encoded(encoding: &str, body: Vec<u8>) -> Request<Body> {
    Request::post("/v1/batch")
        .header("content-type", "application/json")
        .header("content-encoding", encoding)
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn gzip_bodies_are_decompressed() {
    let app = test_app();
    let reply = send(&app, post_encoded("gzip", gzip(batch(3).to_string().as_bytes()))).await;
    assert_eq!(reply.json(), json!({"accepted": 3, "duplicates": 0, "suppressed": 0, "rejected": []}));
    // `identity` is the same as no header.
    let reply = send(&app, post_encoded("Identity", batch(4).to_string().into_bytes())).await;
    assert_eq!(reply.json()["accepted"], 1);
    assert_eq!(stored_events(&app).await.len(), 4);

    // Corrupt gzip is as unusable as broken JSON.
    let mut corrupt = gzip(batch(5).to_string().as_bytes());
    corrupt.truncate(corrupt.len() / 2);
    let reply = send(&app, post_encoded("gzip", corrupt)).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_json", None);
    assert!(reply.json()["error"]["message"].as_str().unwrap().contains("gzip"));
}

#[tokio::test]
async fn the_512_kib_cap_applies_after_decompression_too() {
    let app = test_app();
    let limit = 512 * 1024;
    let reply = send(&app, post_encoded("gzip", gzip(&padded_batch(limit)))).await;
    assert_eq!(reply.status, StatusCode::OK, "exactly 512 KiB decompressed is fine");

    // A bomb: 64 MiB of spaces compresses to ~64 KiB, well under the wire cap.
    let mut bomb = batch(1).to_string().into_bytes();
    bomb.resize(64 * 1024 * 1024, b' ');
    let bomb = gzip(&bomb);
    assert!(bomb.len() < limit);
    let reply = send(&app, post_encoded("gzip", bomb)).await;
    assert_error(&reply, StatusCode::PAYLOAD_TOO_LARGE, "too_large", None);
    assert!(reply.json()["error"]["message"].as_str().unwrap().contains("decompressed"));
    assert_eq!(stored_events(&app).await.len(), 1);
}

#[tokio::test]
async fn unknown_content_encoding_is_415() {
    let app = test_app();
    for encoding in ["br", "deflate", "gzip, gzip"] {
        let reply = send(&app, post_encoded(encoding, batch(1).to_string().into_bytes())).await;
        assert_error(&reply, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_encoding", None);
    }
    assert!(stored_events(&app).await.is_empty());
}

#[tokio::test]
async fn lone_surrogate_escapes_are_invalid_json_and_the_server_carries_on() {
    let app = test_app();
    for lone in [r"page\ud800", r"page\udc00view", r"page\ud800view"] {
        let body = batch(1).to_string().replace("page_view", lone);
        let reply = send(&app, post_raw(body)).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_json", None);
        let message = reply.json()["error"]["message"].as_str().unwrap().to_owned();
        assert!(message.contains("surrogate") || message.contains("escape"), "{lone}: {message}");
    }
    // A proper pair is fine, and the collector still answers.
    let body = batch(1).to_string().replace("page_view", "page\\ud83d\\ude00view");
    assert_eq!(send(&app, post_raw(body)).await.json()["accepted"], 1);
    assert_eq!(stored_events(&app).await[0]["name"], "page😀view");
}

fn limited_app(rate_per_site: Option<Rate>, rate_per_device: Option<Rate>, trust_forwarded_for: bool) -> Router {
    app_with(Config { test_api: true, rate_per_site, rate_per_device, trust_forwarded_for, ..Config::default() })
}

fn post_from_ip(ip: &str, forwarded_for: Option<&str>, body: &Value) -> Request<Body> {
    let mut req = post_raw(body.to_string());
    req.extensions_mut().insert(ConnectInfo(SocketAddr::new(ip.parse().unwrap(), 40000)));
    if let Some(xff) = forwarded_for {
        req.headers_mut().insert("x-forwarded-for", xff.parse().unwrap());
    }
    req
}

/// A batch whose event ids start at `first`.
fn batch_from(first: usize, n: usize) -> Value {
    let mut body = batch(first + n);
    body["events"].as_array_mut().unwrap().drain(..first);
    body
}

fn assert_rate_limited(reply: &Reply, retry_after: &str) {
    assert_error(reply, StatusCode::TOO_MANY_REQUESTS, "rate_limited", None);
    assert_eq!(reply.header("retry-after"), Some(retry_after));
}

#[tokio::test(start_paused = true)]
async fn a_device_over_its_rate_gets_429_with_retry_after_until_the_bucket_refills() {
    let app = limited_app(None, Some(Rate { per_second: 0.5, burst: 2 }), false);
    for i in 0..2 {
        assert_eq!(send(&app, post_from_ip("10.0.0.1", None, &batch_from(i, 1))).await.status, StatusCode::OK);
    }
    let reply = send(&app, post_from_ip("10.0.0.1", None, &batch_from(2, 1))).await;
    assert_rate_limited(&reply, "2");
    assert_eq!(stored_events(&app).await.len(), 2, "the limited batch is not stored");
    // Another device is not affected.
    assert_eq!(send(&app, post_from_ip("10.0.0.2", None, &batch_from(3, 1))).await.status, StatusCode::OK);

    tokio::time::advance(std::time::Duration::from_millis(1900)).await;
    assert_rate_limited(&send(&app, post_from_ip("10.0.0.1", None, &batch_from(2, 1))).await, "1");
    tokio::time::advance(std::time::Duration::from_millis(100)).await;
    // Two seconds after the bucket emptied, one token is back.
    let reply = send(&app, post_from_ip("10.0.0.1", None, &batch_from(2, 1))).await;
    assert_eq!(reply.json()["accepted"], 1);
    assert_eq!(stored_events(&app).await.len(), 4);
}

#[tokio::test(start_paused = true)]
async fn x_forwarded_for_names_the_device_only_when_trusted() {
    let rate = Some(Rate { per_second: 1.0, burst: 1 });
    // Untrusted: both requests come from the proxy's address, the second is limited.
    let app = limited_app(None, rate, false);
    assert_eq!(send(&app, post_from_ip("10.0.0.9", Some("1.1.1.1"), &batch_from(0, 1))).await.status, StatusCode::OK);
    assert_rate_limited(&send(&app, post_from_ip("10.0.0.9", Some("2.2.2.2"), &batch_from(1, 1))).await, "1");
    // Trusted: the last entry, appended by the proxy, is the device.
    let app = limited_app(None, rate, true);
    assert_eq!(send(&app, post_from_ip("10.0.0.9", Some("1.1.1.1"), &batch_from(0, 1))).await.status, StatusCode::OK);
    let spoofed = post_from_ip("10.0.0.9", Some("9.9.9.9, 2.2.2.2"), &batch_from(1, 1));
    assert_eq!(send(&app, spoofed).await.status, StatusCode::OK);
    let again = post_from_ip("10.0.0.9", Some("8.8.8.8, 1.1.1.1"), &batch_from(2, 1));
    assert_rate_limited(&send(&app, again).await, "1");
}

#[tokio::test(start_paused = true)]
async fn a_site_over_its_rate_gets_429_whatever_the_device() {
    let app = limited_app(Some(Rate { per_second: 0.25, burst: 1 }), None, false);
    assert_eq!(send(&app, post_from_ip("10.0.0.1", None, &batch_from(0, 1))).await.status, StatusCode::OK);
    let reply = send(&app, post_from_ip("10.0.0.2", None, &batch_from(1, 1))).await;
    assert_rate_limited(&reply, "4");
    let mut other = batch_from(2, 1);
    other["siteId"] = json!("other-shop");
    assert_eq!(send(&app, post_from_ip("10.0.0.2", None, &other)).await.status, StatusCode::OK);
    assert_eq!(stored_events(&app).await.len(), 2);
    tokio::time::advance(std::time::Duration::from_secs(4)).await;
    assert_eq!(send(&app, post_from_ip("10.0.0.2", None, &batch_from(1, 1))).await.status, StatusCode::OK);
}
