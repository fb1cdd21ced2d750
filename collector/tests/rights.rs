//! The privacy rights that reach the collector: device registration through
//! batches, signed export and erasure, suppression of erased devices, and
//! the retention job. Driven through the Router with `oneshot`; requests are
//! signed with real P-256 keys exactly as the SDK signs them.

mod common;
use common::{send, Reply};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use attune_collector::config::Config;
use attune_collector::limit::Rate;
use attune_collector::retention::{Retention, DAY_MS};
use attune_collector::{build_app, AppState, Store};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const SITE: &str = "demo-shop";
const MINUTE: i64 = 60_000;

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn app_with(config: Config) -> Router {
    let store = Arc::new(Store::open(":memory:").unwrap());
    build_app(AppState::new(&config, store))
}

fn test_app() -> Router {
    app_with(Config { test_api: true, ..Config::default() })
}

/// A device key pair, made from fixed bytes so runs are repeatable.
struct Device {
    key: SigningKey,
    /// base64url of the 65-byte uncompressed point, as the SDK sends it.
    public_key: String,
    /// Lowercase hex SHA-256 of the 65 bytes.
    key_hash: String,
}

impl Device {
    fn new(seed: u8) -> Self {
        let key = SigningKey::from_slice(&[seed; 32]).unwrap();
        let point = key.verifying_key().to_sec1_point(false);
        let bytes = point.as_bytes();
        assert_eq!((bytes.len(), bytes[0]), (65, 4));
        Self { public_key: URL_SAFE_NO_PAD.encode(bytes), key_hash: hex(&Sha256::digest(bytes)), key }
    }

    /// A rights request signed by this device.
    fn request(&self, action: &str, at: i64) -> Value {
        self.request_for(action, SITE, at, &self.public_key)
    }

    /// A request naming `public_key`, signed by this device's key, with a nonce of its own.
    fn request_for(&self, action: &str, site: &str, at: i64, public_key: &str) -> Value {
        static REQUESTS: AtomicU64 = AtomicU64::new(0);
        let n = REQUESTS.fetch_add(1, Ordering::Relaxed);
        let nonce = hex(&Sha256::digest(format!("{action}{at}{}{n}", self.key_hash))[..16]);
        let message = format!("attune-rights/1\n{action}\n{site}\n{at}\n{nonce}\n{public_key}");
        let signature: Signature = self.key.sign(message.as_bytes());
        json!({
            "v": 1,
            "siteId": site,
            "action": action,
            "at": at,
            "nonce": nonce,
            "publicKey": public_key,
            "signature": URL_SAFE_NO_PAD.encode(signature.to_bytes()),
        })
    }
}

fn pid(n: u8) -> String {
    format!("{n:02x}").repeat(16)
}

fn receipt_hash(n: u8) -> String {
    format!("{n:02x}").repeat(32)
}

/// An event captured an hour ago.
fn event(id: u32, purpose: &str, pid: Option<&str>) -> Value {
    event_at(id, purpose, pid, now_ms() - 60 * MINUTE)
}

fn event_at(id: u32, purpose: &str, pid: Option<&str>, ts: i64) -> Value {
    let mut e = json!({
        "id": format!("{id:032x}"),
        "name": "product_view",
        "purpose": purpose,
        "ts": ts,
        "props": {"productId": format!("sku-{id}"), "price": 19.99, "qty": -3, "onSale": true, "label": "Grüße \"x\""}
    });
    if let Some(pid) = pid {
        e["pid"] = json!(pid);
    }
    e
}

fn batch(device: Option<&Device>, receipt: &str, events: Vec<Value>) -> Value {
    let mut body = json!({
        "v": 1,
        "siteId": SITE,
        "sentAt": now_ms(),
        "consent": {"receiptHash": receipt, "granted": ["necessary", "analytics", "marketing", "support"]},
        "events": events
    });
    if let Some(device) = device {
        body["device"] = json!(device.key_hash);
    }
    body
}

fn post_raw(path: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(path)
        .header("host", "collector.test")
        .header("content-type", "application/json")
        .body(body.into())
        .unwrap()
}

async fn post(app: &Router, path: &str, body: &Value) -> Reply {
    send(app, post_raw(path, body.to_string())).await
}

async fn post_batch(app: &Router, body: &Value) -> Value {
    let reply = post(app, "/v1/batch", body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json());
    reply.json()
}

async fn get(app: &Router, path: &str) -> Value {
    let reply = send(app, Request::get(path).body(Body::empty()).unwrap()).await;
    assert_eq!(reply.status, StatusCode::OK, "{path}");
    reply.json()
}

async fn export(app: &Router, device: &Device) -> Value {
    let reply = post(app, "/v1/rights/export", &device.request("export", now_ms())).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json());
    reply.json()
}

async fn erase(app: &Router, device: &Device) -> Value {
    let reply = post(app, "/v1/rights/erase", &device.request("erase", now_ms())).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json());
    reply.json()
}

/// Ids of the stored events.
async fn stored_ids(app: &Router) -> BTreeSet<String> {
    let events = get(app, "/__test/events").await;
    events["events"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect()
}

fn ids(events: &Value) -> BTreeSet<String> {
    events.as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect()
}

/// `(index, code, field, id)` of each rejected event of a batch answer.
fn rejections(reply: &Value) -> Vec<(Value, Value, Value, Value)> {
    reply["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["index"].clone(), r["code"].clone(), r["field"].clone(), r["id"].clone()))
        .collect()
}

fn id_set(ids: &[u32]) -> BTreeSet<String> {
    ids.iter().map(|id| format!("{id:032x}")).collect()
}

fn assert_error(reply: &Reply, status: StatusCode, code: &str, field: Option<&str>) {
    let body = reply.json();
    assert_eq!(reply.status, status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    match field {
        Some(f) => assert_eq!(body["error"]["field"], f, "{body}"),
        None => assert!(body["error"].get("field").is_none(), "{body}"),
    }
    assert!(body["error"]["message"].as_str().unwrap().len() > 10, "{body}");
    assert_eq!(body.as_object().unwrap().len(), 1, "an error carries nothing else: {body}");
}

/// Two devices with a pid each and one event without a pid.
async fn two_devices(app: &Router) -> (Device, Device) {
    let (a, b) = (Device::new(1), Device::new(2));
    let (pa, pb) = (pid(0xa1), pid(0xb1));
    post_batch(
        app,
        &batch(Some(&a), &receipt_hash(0xa), vec![event(1, "analytics", Some(&pa)), event(2, "necessary", None)]),
    )
    .await;
    post_batch(app, &batch(Some(&b), &receipt_hash(0xb), vec![event(3, "analytics", Some(&pb))])).await;
    (a, b)
}

#[tokio::test]
async fn a_request_without_a_proof_is_403_proof_required_whatever_it_names() {
    let app = test_app();
    let (a, _) = two_devices(&app).await;
    for path in ["/v1/rights/export", "/v1/rights/erase"] {
        for body in [
            json!({"siteId": SITE, "pid": pid(0xa1)}),
            json!({"siteId": SITE, "device": a.key_hash}),
            json!({"siteId": SITE, "keyHash": a.key_hash}),
            json!({"v": 1, "siteId": SITE, "action": "erase", "at": now_ms(), "nonce": "0".repeat(32), "publicKey": a.public_key}),
            json!({"siteId": SITE, "signature": "A".repeat(86), "publicKey": null}),
            json!({}),
            json!([a.key_hash]),
        ] {
            let reply = post(&app, path, &body).await;
            assert_error(&reply, StatusCode::FORBIDDEN, "proof_required", None);
        }
    }
    assert_eq!(stored_ids(&app).await, id_set(&[1, 2, 3]), "nothing erased");
    // Not JSON at all comes first.
    assert_error(&send(&app, post_raw("/v1/rights/erase", "{")).await, StatusCode::BAD_REQUEST, "invalid_json", None);
}

#[tokio::test]
async fn bad_stale_or_foreign_proofs_are_403_and_change_nothing() {
    let app = test_app();
    let (a, b) = two_devices(&app).await;
    let now = now_ms();
    for path in ["/v1/rights/export", "/v1/rights/erase"] {
        let action = path.rsplit('/').next().unwrap();

        // A signature over other bytes.
        let mut body = a.request(action, now);
        let mut signature = URL_SAFE_NO_PAD.decode(body["signature"].as_str().unwrap()).unwrap();
        signature[10] ^= 1;
        body["signature"] = json!(URL_SAFE_NO_PAD.encode(&signature));
        assert_error(&post(&app, path, &body).await, StatusCode::FORBIDDEN, "invalid_proof", Some("signature"));

        // Another key signs the very same body, naming a's key.
        let forged = b.request_for(action, SITE, now, &a.public_key);
        assert_eq!(
            forged.as_object().unwrap().keys().collect::<Vec<_>>(),
            body.as_object().unwrap().keys().collect::<Vec<_>>()
        );
        assert_error(&post(&app, path, &forged).await, StatusCode::FORBIDDEN, "invalid_proof", Some("signature"));

        // A valid signature with a field changed afterwards.
        let mut moved = a.request(action, now);
        moved["at"] = json!(now + 1);
        assert_error(&post(&app, path, &moved).await, StatusCode::FORBIDDEN, "invalid_proof", Some("signature"));

        // Signed more than five minutes ago, or ahead.
        for at in [now - 6 * MINUTE, now + 6 * MINUTE] {
            let reply = post(&app, path, &a.request(action, at)).await;
            assert_error(&reply, StatusCode::FORBIDDEN, "stale_proof", Some("at"));
        }
        // Four minutes either way is fine.
        for at in [now - 4 * MINUTE, now + 4 * MINUTE] {
            let reply = post(&app, "/v1/rights/export", &a.request("export", at)).await;
            assert_eq!(reply.status, StatusCode::OK);
        }
    }
    assert_eq!(stored_ids(&app).await, id_set(&[1, 2, 3]), "nothing erased");
    assert!(get(&app, "/__test/suppressed").await["suppressed"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn malformed_fields_are_400_naming_the_field() {
    let app = test_app();
    let a = Device::new(1);
    type Mutate = fn(&mut Value);
    let cases: &[(&str, Mutate, &str, &str)] = &[
        ("unknown field", |b| b["pid"] = json!(pid(1)), "unknown_field", "pid"),
        ("wrong v", |b| b["v"] = json!(2), "invalid_field", "v"),
        ("bad siteId", |b| b["siteId"] = json!("demo shop"), "invalid_field", "siteId"),
        ("other action", |b| b["action"] = json!("export"), "invalid_field", "action"),
        ("unknown action", |b| b["action"] = json!("delete"), "invalid_field", "action"),
        (
            "missing action",
            |b| {
                b.as_object_mut().unwrap().remove("action");
            },
            "missing_field",
            "action",
        ),
        ("float at", |b| b["at"] = json!(1.5), "invalid_field", "at"),
        ("short nonce", |b| b["nonce"] = json!("abc"), "invalid_field", "nonce"),
        (
            "padded key",
            |b| b["publicKey"] = json!(format!("{}=", b["publicKey"].as_str().unwrap())),
            "invalid_field",
            "publicKey",
        ),
        ("compressed key", |b| b["publicKey"] = json!(URL_SAFE_NO_PAD.encode([2u8; 33])), "invalid_field", "publicKey"),
        (
            "key off the curve",
            |b| b["publicKey"] = json!(URL_SAFE_NO_PAD.encode([4u8; 65])),
            "invalid_field",
            "publicKey",
        ),
        ("standard base64", |b| b["signature"] = json!(format!("{}+/", "A".repeat(84))), "invalid_field", "signature"),
        (
            "DER signature",
            |b| b["signature"] = json!(URL_SAFE_NO_PAD.encode([0x30u8; 70])),
            "invalid_field",
            "signature",
        ),
    ];
    for (name, mutate, code, field) in cases {
        let mut body = a.request("erase", now_ms());
        mutate(&mut body);
        let reply = post(&app, "/v1/rights/erase", &body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{name}: {}", reply.json());
        assert_error(&reply, StatusCode::BAD_REQUEST, code, Some(field));
    }

    // A site this collector does not serve, checked after the fields.
    let app = app_with(Config { site_ids: vec!["other-shop".into()], ..Config::default() });
    let reply = post(&app, "/v1/rights/export", &a.request("export", now_ms())).await;
    assert_error(&reply, StatusCode::FORBIDDEN, "unknown_site", Some("siteId"));
}

#[tokio::test]
async fn erasing_one_device_leaves_the_other_untouched_and_nothing_it_sends_comes_back() {
    let app = test_app();
    let (a, b) = (Device::new(1), Device::new(2));
    let (pa, pa2, pb) = (pid(0xa1), pid(0xa2), pid(0xb1));
    let a_batches = [
        batch(Some(&a), &receipt_hash(0xa), vec![event(1, "analytics", Some(&pa)), event(2, "marketing", Some(&pa2))]),
        batch(Some(&a), &receipt_hash(0xa), vec![event(3, "analytics", Some(&pa)), event(4, "necessary", None)]),
    ];
    for body in &a_batches {
        post_batch(&app, body).await;
    }
    post_batch(&app, &batch(Some(&b), &receipt_hash(0xb), vec![event(5, "analytics", Some(&pb))])).await;
    let devices_before = get(&app, "/__test/devices").await["devices"].clone();
    assert_eq!(devices_before.as_array().unwrap().len(), 3);
    let b_before = export(&app, &b).await;

    let receipt = erase(&app, &a).await;
    assert_eq!(receipt["format"], "attune-erasure-receipt/1");
    assert_eq!(receipt["siteId"], SITE);
    assert_eq!(receipt["keyHash"], a.key_hash.as_str());
    assert!(receipt["receiptId"]
        .as_str()
        .is_some_and(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())));
    assert!(receipt["requestedAt"].as_i64().unwrap() <= receipt["erasedAt"].as_i64().unwrap());
    assert_eq!(receipt["deleted"], json!({"events": 3, "receipts": 1, "pseudonymousIds": 2}));
    assert_eq!(receipt["suppressed"], json!({"keyHash": true, "pseudonymousIds": 2}));

    // a has nothing left; the event without a pid cannot be told apart and stays.
    assert_eq!(stored_ids(&app).await, id_set(&[4, 5]));
    let devices = get(&app, "/__test/devices").await;
    let keys: Vec<_> = devices["devices"].as_array().unwrap().iter().map(|d| d["keyHash"].clone()).collect();
    assert_eq!(keys, [json!(b.key_hash)]);
    let receipts = get(&app, "/__test/receipts").await;
    let hashes: Vec<_> = receipts["receipts"].as_array().unwrap().iter().map(|r| r["hash"].clone()).collect();
    assert_eq!(hashes, [json!(receipt_hash(0xb))]);
    let a_after = export(&app, &a).await;
    assert_eq!((&a_after["device"], &a_after["events"], &a_after["receipts"]), (&Value::Null, &json!([]), &json!([])));
    assert_eq!(a_after["pseudonymousIds"], json!([]));
    // b is exactly as before.
    let mut b_after = export(&app, &b).await;
    b_after["generatedAt"] = b_before["generatedAt"].clone();
    assert_eq!(b_after, b_before);

    let suppressed = get(&app, "/__test/suppressed").await;
    let suppressed: Vec<_> =
        suppressed["suppressed"].as_array().unwrap().iter().map(|s| (s["kind"].clone(), s["hash"].clone())).collect();
    let sha = |pid: &str| json!(hex(&Sha256::digest(pid.as_bytes())));
    assert_eq!(suppressed, [(json!("key"), json!(a.key_hash)), (json!("pid"), sha(&pa)), (json!("pid"), sha(&pa2))]);

    // Late retries and replays of a's earlier batches store nothing.
    for body in &a_batches {
        let reply = post_batch(&app, body).await;
        assert_eq!(reply, json!({"accepted": 0, "duplicates": 0, "suppressed": 2, "rejected": []}));
    }
    // Neither does the old pid without the device field, nor under a new key.
    let reply = post_batch(
        &app,
        &batch(None, &receipt_hash(0xc), vec![event(6, "analytics", Some(&pa)), event(7, "analytics", None)]),
    )
    .await;
    assert_eq!(reply, json!({"accepted": 1, "duplicates": 0, "suppressed": 1, "rejected": []}));
    let c = Device::new(3);
    let reply = post_batch(&app, &batch(Some(&c), &receipt_hash(0xd), vec![event(8, "marketing", Some(&pa2))])).await;
    assert_eq!(reply["suppressed"], 1);
    assert_eq!(stored_ids(&app).await, id_set(&[4, 5, 7]));
    assert_eq!(get(&app, "/__test/devices").await["devices"].as_array().unwrap().len(), 1, "c filed nothing");

    // Erasing again is fine and finds nothing.
    let again = erase(&app, &a).await;
    assert_eq!(again["deleted"], json!({"events": 0, "receipts": 0, "pseudonymousIds": 0}));
    assert_eq!(again["suppressed"], json!({"keyHash": true, "pseudonymousIds": 0}));
    assert_ne!(again["receiptId"], receipt["receiptId"]);
}

#[tokio::test]
async fn a_second_key_claiming_a_registered_pid_cannot_export_or_erase_its_events() {
    let app = test_app();
    let (owner, thief) = (Device::new(1), Device::new(2));
    let p = pid(0x77);
    post_batch(&app, &batch(Some(&owner), &receipt_hash(1), vec![event(1, "analytics", Some(&p))])).await;
    // The thief saw the pid somewhere and sends it under its own key.
    post_batch(&app, &batch(Some(&thief), &receipt_hash(2), vec![event(2, "analytics", Some(&p))])).await;

    let stolen = export(&app, &thief).await;
    assert_eq!(stolen["events"], json!([]));
    assert_eq!(stolen["pseudonymousIds"], json!([]));
    assert_eq!(stolen["device"]["keyHash"], thief.key_hash.as_str());
    let erased = erase(&app, &thief).await;
    assert_eq!(erased["deleted"], json!({"events": 0, "receipts": 1, "pseudonymousIds": 0}));
    assert_eq!(erased["suppressed"]["pseudonymousIds"], 0);

    // The owner still has both events that carry its pid.
    let mine = export(&app, &owner).await;
    assert_eq!(ids(&mine["events"]), id_set(&[1, 2]));
    assert_eq!(mine["pseudonymousIds"].as_array().unwrap().len(), 1);
    let devices = get(&app, "/__test/devices").await;
    assert_eq!(devices["devices"][0]["keyHash"], owner.key_hash.as_str());
}

#[tokio::test]
async fn export_returns_exactly_the_devices_events_and_receipts() {
    let app = test_app();
    let (a, _b) = two_devices(&app).await;
    let pa = pid(0xa1);
    let mut unusual = event(10, "marketing", Some(&pa));
    unusual["props"] =
        json!({"z": "last", "a": 0.1, "big": 12_345_678_901_i64, "tiny": 1e-7, "emoji": "😀", "esc": "a\nb\\c"});
    let mut narrower = batch(Some(&a), &receipt_hash(0xe), vec![unusual.clone()]);
    narrower["consent"]["granted"] = json!(["marketing"]);
    let sent_at = now_ms();
    post_batch(&app, &narrower).await;

    let doc = export(&app, &a).await;
    assert_eq!(doc["format"], "attune-export/1");
    assert_eq!(doc["source"], "collector");
    assert_eq!(doc["siteId"], SITE);
    assert!(doc["generatedAt"].as_i64().unwrap() >= sent_at);
    assert_eq!(doc["device"]["keyHash"], a.key_hash.as_str());
    assert!(doc["device"]["firstSeen"].as_i64().unwrap() <= doc["device"]["lastSeen"].as_i64().unwrap());
    let pids: Vec<_> =
        doc["pseudonymousIds"].as_array().unwrap().iter().map(|p| (p["purpose"].clone(), p["id"].clone())).collect();
    assert_eq!(pids, [(json!("analytics"), json!(pa)), (json!("marketing"), json!(pa))]);

    // Every stored event whose pid is a's, each field as stored.
    let stored = get(&app, "/__test/events").await;
    let expected: Vec<Value> = stored["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["pid"] == json!(pa))
        .map(|e| {
            let mut e = e.clone();
            e.as_object_mut().unwrap().remove("siteId");
            e
        })
        .collect();
    assert_eq!(doc["events"].as_array().unwrap(), &expected);
    assert_eq!(ids(&doc["events"]), id_set(&[1, 10]));
    // The props are the ones sent, byte for byte once serialized.
    let exported = doc["events"].as_array().unwrap().iter().find(|e| e["id"] == unusual["id"]).unwrap();
    assert_eq!(serde_json::to_string(&exported["props"]).unwrap(), serde_json::to_string(&unusual["props"]).unwrap());
    let keys: BTreeSet<&str> = exported.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["id", "name", "purpose", "ts", "props", "pid", "receivedAt"]));

    let receipts: Vec<_> =
        doc["receipts"].as_array().unwrap().iter().map(|r| (r["hash"].clone(), r["granted"].clone())).collect();
    assert_eq!(
        receipts,
        [
            (json!(receipt_hash(0xa)), json!(["necessary", "analytics", "marketing", "support"])),
            (json!(receipt_hash(0xe)), json!(["marketing"])),
        ]
    );
    let first = &doc["receipts"][0];
    assert!(first["firstSeen"].as_i64().unwrap() <= first["lastSeen"].as_i64().unwrap());
}

#[tokio::test]
async fn a_key_never_seen_exports_nothing_and_its_erasure_still_suppresses_it() {
    let app = test_app();
    two_devices(&app).await;
    let stranger = Device::new(9);
    let doc = export(&app, &stranger).await;
    assert_eq!(doc["device"], Value::Null);
    for list in ["pseudonymousIds", "events", "receipts"] {
        assert_eq!(doc[list], json!([]), "{list}");
    }
    let receipt = erase(&app, &stranger).await;
    assert_eq!(receipt["deleted"], json!({"events": 0, "receipts": 0, "pseudonymousIds": 0}));
    assert_eq!(receipt["suppressed"], json!({"keyHash": true, "pseudonymousIds": 0}));
    // The key can never file anything afterwards.
    let reply =
        post_batch(&app, &batch(Some(&stranger), &receipt_hash(9), vec![event(20, "analytics", Some(&pid(9)))])).await;
    assert_eq!(reply["suppressed"], 1);
    assert_eq!(stored_ids(&app).await, id_set(&[1, 2, 3]));
}

#[tokio::test]
async fn rights_answers_are_never_cached_and_follow_the_origin_rules() {
    let app = app_with(Config { allowed_origins: vec!["https://shop.example".into()], ..Config::default() });
    let a = Device::new(1);
    let from = |origin: &str, body: &Value| {
        Request::post("/v1/rights/export")
            .header("host", "collector.test")
            .header("origin", origin)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let reply = send(&app, from("https://shop.example", &a.request("export", now_ms()))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("access-control-allow-origin"), Some("https://shop.example"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let reply = send(&app, from("https://shop.example", &json!({"siteId": SITE}))).await;
    assert_error(&reply, StatusCode::FORBIDDEN, "proof_required", None);
    assert_eq!(reply.header("access-control-allow-origin"), Some("https://shop.example"));

    let reply = send(&app, from("https://evil.example", &a.request("export", now_ms()))).await;
    assert_error(&reply, StatusCode::FORBIDDEN, "origin_not_allowed", None);

    for path in ["/v1/rights/export", "/v1/rights/erase"] {
        let preflight = Request::builder()
            .method(Method::OPTIONS)
            .uri(path)
            .header("host", "collector.test")
            .header("origin", "https://shop.example")
            .header("access-control-request-method", "POST")
            .body(Body::empty())
            .unwrap();
        let reply = send(&app, preflight).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{path}");
        assert_eq!(reply.header("access-control-allow-origin"), Some("https://shop.example"));
    }
}

#[tokio::test]
async fn rights_bodies_over_16_kib_are_413() {
    let app = test_app();
    let mut body = Device::new(1).request("export", now_ms()).to_string().into_bytes();
    body.resize(16 * 1024, b' ');
    assert_eq!(send(&app, post_raw("/v1/rights/export", body.clone())).await.status, StatusCode::OK);
    body.push(b' ');
    assert_error(
        &send(&app, post_raw("/v1/rights/export", body)).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        None,
    );
}

#[tokio::test(start_paused = true)]
async fn rights_requests_share_the_device_rate_limit() {
    let app = app_with(Config { rate_per_device: Some(Rate { per_second: 1.0, burst: 2 }), ..Config::default() });
    let from_ip = |path: &str, body: &Value| {
        let mut req = post_raw(path, body.to_string());
        req.extensions_mut().insert(ConnectInfo(SocketAddr::new("10.0.0.1".parse().unwrap(), 40000)));
        req
    };
    let a = Device::new(1);
    let first =
        send(&app, from_ip("/v1/batch", &batch(Some(&a), &receipt_hash(1), vec![event(1, "analytics", None)]))).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(send(&app, from_ip("/v1/rights/export", &a.request("export", now_ms()))).await.status, StatusCode::OK);
    let reply = send(&app, from_ip("/v1/rights/erase", &a.request("erase", now_ms()))).await;
    assert_error(&reply, StatusCode::TOO_MANY_REQUESTS, "rate_limited", None);
    assert_eq!(reply.header("retry-after"), Some("1"));
}

#[tokio::test]
async fn the_test_api_lists_devices_and_suppressions_and_clears_them() {
    let app = test_app();
    let (a, b) = two_devices(&app).await;
    let devices = get(&app, "/__test/devices").await;
    let first = &devices["devices"][0];
    assert_eq!(first["keyHash"], a.key_hash.as_str());
    assert_eq!(first["pid"], pid(0xa1).as_str());
    assert_eq!(first["purpose"], "analytics");
    assert_eq!(first["firstSeen"], first["lastSeen"]);
    assert_eq!(first.as_object().unwrap().len(), 5, "{first}");
    erase(&app, &b).await;
    let suppressed = get(&app, "/__test/suppressed").await;
    let entry = &suppressed["suppressed"][0];
    assert_eq!((&entry["kind"], &entry["hash"]), (&json!("key"), &json!(b.key_hash)));
    assert!(entry["at"].as_i64().unwrap() > 0);

    let reply = send(&app, Request::delete("/__test/events").body(Body::empty()).unwrap()).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(get(&app, "/__test/devices").await, json!({"devices": []}));
    assert_eq!(get(&app, "/__test/suppressed").await, json!({"suppressed": []}));
    // b may send again.
    let reply =
        post_batch(&app, &batch(Some(&b), &receipt_hash(0xb), vec![event(3, "analytics", Some(&pid(0xb1)))])).await;
    assert_eq!(reply["accepted"], 1);

    let off = app_with(Config::default());
    for path in ["/__test/devices", "/__test/suppressed"] {
        let reply = send(&off, Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
    }
    let reply = send(&off, post_raw("/__test/retention?now=1", "")).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

/// analytics 10 days, marketing 2 days (from a site config), anything else 4 days.
fn retention_app() -> Router {
    let site_config = r#"{
        "collect": {
            "analytics": {"retentionDays": 10, "events": {"product_view": {}}},
            "marketing": {"retentionDays": 2, "events": {"product_view": {}}}
        }
    }"#;
    let retention = Retention::from_site_config(site_config, 4).unwrap();
    app_with(Config { test_api: true, retention, ..Config::default() })
}

async fn run_retention(app: &Router, now: i64) -> Value {
    let reply = send(app, post_raw(&format!("/__test/retention?now={now}"), "")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json());
    reply.json()
}

#[tokio::test]
async fn events_already_expired_on_arrival_are_rejected_as_expired() {
    let app = retention_app();
    let now = now_ms();
    let events = vec![
        event_at(1, "analytics", None, now - 10 * DAY_MS - MINUTE),
        event_at(2, "analytics", None, now - 10 * DAY_MS + 10 * MINUTE),
        event_at(3, "marketing", None, now - 2 * DAY_MS - MINUTE),
        event_at(4, "marketing", None, now - 2 * DAY_MS + 10 * MINUTE),
        event_at(5, "support", None, now - 4 * DAY_MS - MINUTE),
        event_at(6, "support", None, now - 4 * DAY_MS + 10 * MINUTE),
        // A device clock running ahead, by less than a day.
        event_at(7, "marketing", None, now + DAY_MS - MINUTE),
    ];
    let reply = post_batch(&app, &batch(None, &receipt_hash(1), events)).await;
    assert_eq!((&reply["accepted"], &reply["duplicates"], &reply["suppressed"]), (&json!(4), &json!(0), &json!(0)));
    let rejected = rejections(&reply);
    assert_eq!(
        rejected,
        [
            (json!(0), json!("expired"), json!("events[0].ts"), json!(format!("{:032x}", 1))),
            (json!(2), json!("expired"), json!("events[2].ts"), json!(format!("{:032x}", 3))),
            (json!(4), json!("expired"), json!("events[4].ts"), json!(format!("{:032x}", 5))),
        ]
    );
    assert!(reply["rejected"][1]["message"].as_str().unwrap().contains("2-day retention"));
    assert_eq!(stored_ids(&app).await, id_set(&[2, 4, 6, 7]));
}

#[tokio::test]
async fn the_retention_job_deletes_exactly_the_expired_events_at_each_boundary() {
    let app = retention_app();
    let now = now_ms();
    let a = Device::new(1);
    let events = vec![
        event_at(1, "analytics", Some(&pid(1)), now - 9 * DAY_MS + 120 * MINUTE), // now + 1 d 2 h
        event_at(2, "analytics", None, now - 5 * DAY_MS),                         // now + 5 d
        // The device's clock runs half a day ahead: counted from arrival instead.
        event_at(3, "analytics", None, now + DAY_MS / 2), // arrival + 10 d
        event_at(4, "marketing", None, now - DAY_MS - 60 * MINUTE), // now + 1 d - 1 h
        event_at(5, "marketing", None, now - 2 * MINUTE), // now + 2 d - 2 min
        event_at(6, "support", None, now - 3 * DAY_MS + 60 * MINUTE), // now + 1 d + 1 h
        event_at(7, "support", None, now + DAY_MS),       // arrival + 4 d
    ];
    assert_eq!(post_batch(&app, &batch(Some(&a), &receipt_hash(1), events)).await["accepted"], 7);

    // Expiry = min(ts, receivedAt) + the purpose's retention, from what was stored.
    let days = |purpose: &str| match purpose {
        "analytics" => 10,
        "marketing" => 2,
        _ => 4,
    };
    let stored = get(&app, "/__test/events").await;
    let mut expiries: Vec<(i64, String)> = stored["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let start = e["ts"].as_i64().unwrap().min(e["receivedAt"].as_i64().unwrap());
            (start + days(e["purpose"].as_str().unwrap()) * DAY_MS, e["id"].as_str().unwrap().to_owned())
        })
        .collect();
    expiries.sort();
    let received_at = stored["events"][0]["receivedAt"].as_i64().unwrap();
    let expiry_of = |id: u32| expiries.iter().find(|(_, e)| *e == format!("{id:032x}")).unwrap().0;
    assert_eq!(expiry_of(3), received_at + 10 * DAY_MS, "a future ts counts from arrival");
    assert_eq!(expiry_of(7), received_at + 4 * DAY_MS);

    assert_eq!(
        expiries.iter().map(|(_, id)| id.clone()).collect::<Vec<_>>(),
        [4, 6, 1, 5, 7, 2, 3].iter().map(|id| format!("{id:032x}")).collect::<Vec<_>>()
    );
    let mut alive: BTreeSet<String> = expiries.iter().map(|(_, id)| id.clone()).collect();
    let mut last = Value::Null;
    for (expiry, id) in &expiries {
        // One millisecond before: still there.
        let counts = run_retention(&app, expiry - 1).await;
        assert_eq!(counts["events"], 0, "{id} at {}", expiry - 1);
        assert_eq!(stored_ids(&app).await, alive);
        // At its expiry: gone, and only it (ids share no expiry here).
        last = run_retention(&app, *expiry).await;
        assert_eq!(last["events"], 1, "{id}");
        alive.remove(id);
        assert_eq!(stored_ids(&app).await, alive, "after {id}'s expiry");
        if alive.is_empty() {
            break;
        }
        assert_eq!(last["receipts"], 0, "the receipt is kept for the longest retention");
    }
    assert!(alive.is_empty());
    // The last event expires exactly when the longest retention (10 days) has passed since the
    // batch arrived: the receipt, the device key and its pid go with it.
    assert_eq!(
        last,
        json!({"events": 1, "receipts": 1, "pseudonymousIds": 1, "devices": 1, "suppressions": 0, "erasures": 0, "nonces": 0})
    );
    assert_eq!(get(&app, "/__test/receipts").await, json!({"receipts": []}));
    assert_eq!(get(&app, "/__test/devices").await, json!({"devices": []}));
    let reply = send(&app, post_raw("/__test/retention?now=soon", "")).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_field", Some("now"));
}

#[tokio::test]
async fn suppression_entries_end_once_anything_resent_would_be_expired() {
    let app = retention_app();
    let a = Device::new(1);
    let old = batch(Some(&a), &receipt_hash(1), vec![event(1, "analytics", Some(&pid(1)))]);
    post_batch(&app, &old).await;
    let erased_at = erase(&app, &a).await["erasedAt"].as_i64().unwrap();
    // Kept one day beyond the longest retention (10 days).
    let counts = run_retention(&app, erased_at + 11 * DAY_MS - 1).await;
    assert_eq!((&counts["suppressions"], &counts["erasures"]), (&json!(0), &json!(1)), "{counts}");
    let counts = run_retention(&app, erased_at + 11 * DAY_MS).await;
    assert_eq!(counts["suppressions"], 2);
    // By then every event the device sent before its erasure has a ts at most
    // a day past the erasure (anything further ahead is refused at ingest) and
    // so is more than 10 days old: a replay is expired on arrival. (The test
    // cannot wait 11 days: the replayed event's ts is set that far back instead.)
    let mut replay = old.clone();
    replay["events"][0]["ts"] = json!(now_ms() - 10 * DAY_MS - MINUTE);
    let reply = post_batch(&app, &replay).await;
    assert_eq!(reply["rejected"][0]["code"], "expired");
    assert!(stored_ids(&app).await.is_empty());
}

#[tokio::test]
async fn an_id_stored_before_any_key_filed_it_cannot_be_claimed_by_a_key_that_saw_it() {
    let app = test_app();
    let (victim, thief) = (Device::new(1), Device::new(2));
    let p = pid(0x55);
    // An older SDK (or another client) sent the pid without `device`: nothing is filed.
    let old = batch(None, &receipt_hash(1), vec![event(1, "analytics", Some(&p)), event(2, "analytics", Some(&p))]);
    post_batch(&app, &old).await;
    assert_eq!(get(&app, "/__test/devices").await, json!({"devices": []}));

    // The thief saw the pid and sends it under its own key: a replay of one of the
    // victim's events and one event of its own.
    let claim =
        batch(Some(&thief), &receipt_hash(2), vec![event(1, "analytics", Some(&p)), event(3, "analytics", Some(&p))]);
    let reply = post_batch(&app, &claim).await;
    assert_eq!((&reply["accepted"], &reply["duplicates"]), (&json!(1), &json!(1)));
    assert_eq!(get(&app, "/__test/devices").await, json!({"devices": []}), "events already carried the pid");

    let stolen = export(&app, &thief).await;
    assert_eq!(ids(&stolen["events"]), id_set(&[3]), "only the event it sent itself");
    assert_eq!(stolen["pseudonymousIds"], json!([]));
    let erased = erase(&app, &thief).await;
    assert_eq!(erased["deleted"], json!({"events": 1, "receipts": 1, "pseudonymousIds": 0}));
    assert_eq!(erased["suppressed"], json!({"keyHash": true, "pseudonymousIds": 0}));
    assert_eq!(stored_ids(&app).await, id_set(&[1, 2]), "the victim's events are untouched");
    let suppressed = get(&app, "/__test/suppressed").await;
    assert_eq!(suppressed["suppressed"].as_array().unwrap().len(), 1, "only the thief's key: {suppressed}");

    // The victim's pid was not suppressed: its next events are stored.
    let reply = post_batch(&app, &batch(None, &receipt_hash(1), vec![event(4, "analytics", Some(&p))])).await;
    assert_eq!(reply["accepted"], 1);
    // Once the victim sends with a device key, what it sends from then on is its own;
    // what was stored before any key could prove it is no key's.
    post_batch(&app, &batch(Some(&victim), &receipt_hash(1), vec![event(5, "analytics", Some(&p))])).await;
    let mine = export(&app, &victim).await;
    assert_eq!(ids(&mine["events"]), id_set(&[5]));
    assert_eq!(erase(&app, &victim).await["deleted"]["events"], 1);
    assert_eq!(stored_ids(&app).await, id_set(&[1, 2, 4]));
}

#[tokio::test]
async fn a_receipt_named_by_another_key_is_erased_with_its_device_and_exports_show_only_their_own_sightings() {
    let app = test_app();
    let (a, spoofer) = (Device::new(1), Device::new(2));
    let h = receipt_hash(0xa);
    post_batch(&app, &batch(Some(&a), &h, vec![event(1, "analytics", Some(&pid(0xa1)))])).await;
    // The spoofer names a's receipt hash in its own batches.
    post_batch(&app, &batch(Some(&spoofer), &h, vec![event(2, "analytics", Some(&pid(0xb1)))])).await;
    let seen = export(&app, &spoofer).await;
    assert_eq!(seen["receipts"].as_array().unwrap().len(), 1);
    let times = |doc: &Value| (doc["receipts"][0]["firstSeen"].clone(), doc["receipts"][0]["lastSeen"].clone());
    let stored = get(&app, "/__test/events").await;
    let spoofer_at = stored["events"][1]["receivedAt"].clone();
    assert_eq!(times(&seen), (spoofer_at.clone(), spoofer_at), "the spoofer's own sighting, not a's");

    let receipt = erase(&app, &a).await;
    assert_eq!(receipt["deleted"]["receipts"], 1, "the receipt goes, whoever else named it");
    assert_eq!(get(&app, "/__test/receipts").await, json!({"receipts": []}));
    assert_eq!(export(&app, &spoofer).await["receipts"], json!([]));
}

/// The same signature with `s` replaced by `n - s`: it verifies just as well.
fn twin_signature(signature: &str) -> String {
    let bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let signature = Signature::from_slice(&bytes).unwrap();
    let (r, s) = signature.split_scalars();
    let twin = Signature::from_scalars(r, -*s).unwrap();
    URL_SAFE_NO_PAD.encode(twin.to_bytes())
}

fn is_high_s(signature: &str) -> bool {
    use p256::elliptic_curve::scalar::IsHigh as _;
    let bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
    bool::from(Signature::from_slice(&bytes).unwrap().s().is_high())
}

#[tokio::test]
async fn a_signed_request_is_answered_once_and_high_s_signatures_are_accepted() {
    let app = test_app();
    let (a, _) = two_devices(&app).await;
    let now = now_ms();
    for path in ["/v1/rights/export", "/v1/rights/erase"] {
        let action = path.rsplit('/').next().unwrap();
        let body = a.request(action, now);
        assert_eq!(post(&app, path, &body).await.status, StatusCode::OK);
        // The very same request again, and its malleated twin (same nonce, other signature).
        let reply = post(&app, path, &body).await;
        assert_error(&reply, StatusCode::FORBIDDEN, "replayed_proof", Some("nonce"));
        let mut twin = body.clone();
        twin["signature"] = json!(twin_signature(body["signature"].as_str().unwrap()));
        assert_ne!(twin["signature"], body["signature"]);
        assert_error(&post(&app, path, &twin).await, StatusCode::FORBIDDEN, "replayed_proof", Some("nonce"));
    }
    // WebCrypto (Chromium's included) emits high-S signatures about half the time: both forms are accepted.
    for _ in 0..2 {
        let mut body = a.request("export", now);
        let signature = body["signature"].as_str().unwrap().to_owned();
        let high = if is_high_s(&signature) { signature } else { twin_signature(&signature) };
        assert!(is_high_s(&high));
        body["signature"] = json!(high);
        assert_eq!(post(&app, "/v1/rights/export", &body).await.status, StatusCode::OK);
    }
    // Nonces are kept for ten minutes (twice the five-minute window), then purged.
    assert_eq!(run_retention(&app, now + 10 * MINUTE - 1).await["nonces"], 0);
    assert_eq!(run_retention(&app, now + 10 * MINUTE).await["nonces"], 4);
}

#[tokio::test]
async fn events_more_than_a_day_ahead_of_the_collector_are_refused_as_from_the_future() {
    let app = retention_app();
    let now = now_ms();
    let events = vec![
        event_at(1, "analytics", None, now + DAY_MS - MINUTE),
        event_at(2, "analytics", Some(&pid(2)), now + DAY_MS + 10 * MINUTE),
        event_at(3, "marketing", None, now + 365 * DAY_MS),
    ];
    let reply = post_batch(&app, &batch(Some(&Device::new(1)), &receipt_hash(1), events)).await;
    assert_eq!(reply["accepted"], 1);
    let rejected = rejections(&reply);
    assert_eq!(
        rejected,
        [
            (json!(1), json!("from_the_future"), json!("events[1].ts"), json!(format!("{:032x}", 2))),
            (json!(2), json!("from_the_future"), json!("events[2].ts"), json!(format!("{:032x}", 3))),
        ]
    );
    assert!(reply["rejected"][0]["message"].as_str().unwrap().contains("ahead of the collector's clock"));
    assert_eq!(stored_ids(&app).await, id_set(&[1]));
    assert_eq!(get(&app, "/__test/devices").await, json!({"devices": []}), "nothing filed for a refused event");
}
