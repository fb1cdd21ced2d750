//! Behaviour of the HTTP API, driven through the Router with `oneshot`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use attune_collector::config::{Config, DEFAULT_CSP};
use attune_collector::{build_app, AppState, Store};
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

const HASH: &str = "9f2c000000000000000000000000000000000000000000000000000000000abc";

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
                "ts": 1_763_923_199_000_i64 + i as i64,
                "props": { "path": format!("/product/{i}") }
            })
        })
        .collect();
    json!({
        "v": 1,
        "siteId": "demo-shop",
        "sentAt": 1_763_923_200_000_i64,
        "consent": { "receiptHash": HASH, "granted": ["necessary", "analytics"] },
        "events": events
    })
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

async fn send(app: &Router, req: Request<Body>) -> Reply {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    Reply { status, headers, body }
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
    assert_eq!(reply.json(), json!({"accepted": 3, "duplicates": 0}));
    assert_eq!(reply.header("content-type"), Some("application/json"));

    let events = stored_events(&app).await;
    let ids: Vec<_> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [event_id(0), event_id(1), event_id(2)]);
    let first = &events[0];
    assert_eq!(first["siteId"], "demo-shop");
    assert_eq!(first["name"], "page_view");
    assert_eq!(first["purpose"], "analytics");
    assert_eq!(first["ts"], 1_763_923_199_000_i64);
    assert_eq!(first["props"], json!({"path": "/product/0"}));
    assert!(first["receivedAt"].as_i64().unwrap() > 1_700_000_000_000);

    let receipts = get(&app, "/__test/receipts").await.json();
    let receipts = receipts["receipts"].as_array().unwrap();
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0]["hash"], HASH);
    assert_eq!(receipts[0]["siteId"], "demo-shop");
    assert_eq!(receipts[0]["granted"], json!(["necessary", "analytics"]));
    assert!(receipts[0]["firstSeen"].as_i64().is_some());
}

#[tokio::test]
async fn the_same_batch_twice_counts_duplicates_and_stores_nothing_new() {
    let app = test_app();
    assert_eq!(post(&app, &batch(4)).await.json()["accepted"], 4);
    let again = post(&app, &batch(4)).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json(), json!({"accepted": 0, "duplicates": 4}));
    assert_eq!(stored_events(&app).await.len(), 4);
    // A retry that overlaps partly stores only the new ids.
    assert_eq!(post(&app, &batch(6)).await.json(), json!({"accepted": 2, "duplicates": 4}));
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
async fn each_rule_violation_names_its_code_and_field_and_stores_nothing() {
    type Mutate = fn(&mut Value);
    let cases: &[(&str, Mutate, &str, &str)] = &[
        (
            "bad id",
            |b| b["events"][1]["id"] = json!("5D0C8E2F9B1A4C3D8E7F6A5B4C3D2E1F"),
            "invalid_field",
            "events[1].id",
        ),
        ("short id", |b| b["events"][0]["id"] = json!("abc"), "invalid_field", "events[0].id"),
        (
            "missing event field",
            |b| {
                b["events"][1].as_object_mut().unwrap().remove("ts");
            },
            "missing_field",
            "events[1].ts",
        ),
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
        ("unknown event field", |b| b["events"][2]["ip"] = json!("1.2.3.4"), "unknown_field", "events[2].ip"),
        ("bad purpose", |b| b["events"][0]["purpose"] = json!("Analytics!"), "invalid_field", "events[0].purpose"),
        (
            "purpose not granted",
            |b| b["events"][2]["purpose"] = json!("marketing"),
            "purpose_not_granted",
            "events[2].purpose",
        ),
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
        ("empty name", |b| b["events"][0]["name"] = json!(""), "invalid_field", "events[0].name"),
        ("props not an object", |b| b["events"][1]["props"] = json!("x"), "invalid_field", "events[1].props"),
        ("event not an object", |b| b["events"][1] = json!(null), "invalid_field", "events[1]"),
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
    }
}

#[tokio::test]
async fn messages_say_what_was_expected_and_found() {
    let app = test_app();
    let mut body = batch(1);
    body["events"][0]["id"] = json!(12);
    let json = post(&app, &body).await.json();
    assert_eq!(json["error"]["message"], "expected 32 lowercase hex characters, found number 12");
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
