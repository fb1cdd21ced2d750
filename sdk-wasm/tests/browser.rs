//! The bindings in headless Chromium: storage and its fallbacks, privacy signals, and errors that
//! reach JavaScript as real `Error` objects with a code.

use attune_wasm::sdk::AttuneSdk;
use js_sys::Reflect;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
const saved = {
  localStorage: Object.getOwnPropertyDescriptor(window, 'localStorage'),
  setItem: Storage.prototype.setItem,
};
export function blockLocalStorage() {
  Object.defineProperty(window, 'localStorage', {
    configurable: true,
    get() { throw new DOMException('The operation is insecure.', 'SecurityError'); },
  });
}
export function fillQuota() {
  Storage.prototype.setItem = function () { throw new DOMException('quota', 'QuotaExceededError'); };
}
export function setGpc(on) {
  Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { configurable: true, get: () => on });
}
export function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }
export function otherTabChanged(key) { window.dispatchEvent(new StorageEvent('storage', { key })); }
export function restore() {
  Object.defineProperty(window, 'localStorage', saved.localStorage);
  Storage.prototype.setItem = saved.setItem;
  delete Navigator.prototype.globalPrivacyControl;
  window.localStorage.clear();
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = blockLocalStorage)]
    fn block_local_storage();
    #[wasm_bindgen(js_name = fillQuota)]
    fn fill_quota();
    #[wasm_bindgen(js_name = setGpc)]
    fn set_gpc(on: bool);
    fn restore();
    fn sleep(ms: u32) -> js_sys::Promise;
    #[wasm_bindgen(js_name = otherTabChanged)]
    fn other_tab_changed(key: &str);
}

fn stored(key: &str) -> Option<String> {
    web_sys::window().unwrap().local_storage().unwrap().unwrap().get_item(key).unwrap()
}

async fn settle() {
    wasm_bindgen_futures::JsFuture::from(sleep(50)).await.unwrap();
}

const CONFIG: &str = r#"{"purposes":[{"id":"chat","label":"Chat","description":"Keeps your chat."}],
  "collect":{"analytics":{"retentionDays":30,"pseudonymousId":{"rotateDays":30},"events":{"x":{},"page_view":{"path":"urlPath"}}}}}"#;

/// A warning hook that records each warning's `code`.
fn recorder() -> (js_sys::Function, Rc<RefCell<Vec<String>>>) {
    let codes = Rc::new(RefCell::new(Vec::new()));
    let sink = codes.clone();
    let hook = Closure::<dyn FnMut(JsValue)>::new(move |w: JsValue| {
        sink.borrow_mut().push(prop(&w, "code").as_string().unwrap_or_default());
    });
    (hook.into_js_value().unchecked_into(), codes)
}

fn prop(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &key.into()).unwrap()
}

fn sdk(storage: &str, hook: &js_sys::Function) -> AttuneSdk {
    AttuneSdk::new("shop", "/nowhere/v1/batch", CONFIG, storage, Some(hook.clone()), None).unwrap()
}

fn status(sdk: &AttuneSdk, purpose: &str) -> (String, String) {
    let purposes: js_sys::Array = prop(&sdk.consent(), "purposes").unchecked_into();
    let state = purposes.iter().find(|p| prop(p, "id").as_string().as_deref() == Some(purpose)).unwrap();
    (prop(&state, "status").as_string().unwrap(), prop(&state, "source").as_string().unwrap())
}

fn stored_consent() -> Option<String> {
    web_sys::window().unwrap().local_storage().unwrap().unwrap().get_item("attune:consent").unwrap()
}

#[wasm_bindgen_test]
fn consent_is_persisted_and_read_back() {
    restore();
    let (hook, warnings) = recorder();
    let first = sdk("local", &hook);
    assert!(!first.memory_only());
    assert_eq!(stored_consent(), None, "nothing is stored before a choice");
    first.grant(vec!["chat".into()], "banner").unwrap();
    assert!(stored_consent().unwrap().contains("\"chat\""));
    first.destroy();

    let second = sdk("local", &hook);
    assert_eq!(status(&second, "chat"), ("granted".into(), "banner".into()));
    assert!(warnings.borrow().is_empty());
    restore();
}

#[wasm_bindgen_test]
fn tampered_storage_means_no_consent_and_a_warning() {
    restore();
    let (hook, warnings) = recorder();
    let first = sdk("local", &hook);
    first.grant(vec!["analytics".into()], "banner").unwrap();
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    let edited = stored_consent().unwrap().replace("\"granted\"", "\"denied\"");
    storage.set_item("attune:consent", &edited).unwrap();

    let second = sdk("local", &hook);
    assert_eq!(status(&second, "analytics").0, "notAsked");
    assert!(prop(&second.consent(), "needsBanner").as_bool().unwrap());
    assert_eq!(*warnings.borrow(), ["state_tampered"]);
    restore();
}

#[wasm_bindgen_test]
fn blocked_local_storage_falls_back_to_memory() {
    block_local_storage();
    let (hook, warnings) = recorder();
    let sdk = sdk("local", &hook);
    assert!(sdk.memory_only());
    assert_eq!(*warnings.borrow(), ["storage_unavailable"]);
    assert!(sdk.grant(vec!["analytics".into()], "api").unwrap(), "consent still works in memory");
    assert_eq!(status(&sdk, "analytics").0, "granted");
    restore();
}

#[wasm_bindgen_test]
async fn a_full_quota_falls_back_to_memory_on_write_keeping_what_was_stored() {
    restore();
    let (hook, warnings) = recorder();
    let sdk = sdk("local", &hook);
    sdk.grant(vec!["analytics".into()], "api").unwrap();
    fill_quota();
    // Writing the queue fails: the store moves to memory, taking the consent record along.
    sdk.track("x", JsValue::NULL, "analytics").unwrap();
    settle().await;
    assert!(sdk.memory_only());
    assert_eq!(*warnings.borrow(), ["storage_unavailable"]);
    assert_eq!(status(&sdk, "analytics").0, "granted", "the stored consent record came along into memory");
    assert_eq!(sdk.pending(), [0, 1, 0], "and the queued event is still there");
    sdk.grant(vec!["chat".into()], "api").unwrap();
    assert_eq!(status(&sdk, "chat").0, "granted");
    sdk.destroy();
    restore();
}

#[wasm_bindgen_test]
fn global_privacy_control_denies_marketing_without_a_click() {
    restore();
    set_gpc(true);
    let (hook, _) = recorder();
    let sdk = sdk("memory", &hook);
    assert_eq!(status(&sdk, "marketing"), ("denied".into(), "gpc".into()));
    assert_eq!(status(&sdk, "analytics"), ("notAsked".into(), "default".into()));
    assert!(prop(&prop(&sdk.consent(), "signals"), "gpc").as_bool().unwrap());
    sdk.accept_all("banner").unwrap();
    assert_eq!(status(&sdk, "marketing").1, "gpc", "accept-all does not override GPC");
    restore();
}

#[wasm_bindgen_test]
fn errors_are_real_error_objects_with_a_code_and_field() {
    restore();
    let err = AttuneSdk::new(
        "shop",
        "/v1/batch",
        r#"{"purposes":[{"id":"Bad","label":"x","description":"y"}]}"#,
        "memory",
        None,
        None,
    )
    .err()
    .unwrap();
    assert!(err.is_instance_of::<js_sys::Error>());
    assert_eq!(prop(&err, "code").as_string().as_deref(), Some("invalid_config"));
    assert_eq!(prop(&err, "field").as_string().as_deref(), Some("purposes[0].id"));
    assert_eq!(prop(&err, "name").as_string().as_deref(), Some("AttuneError"));

    let (hook, _) = recorder();
    let sdk = sdk("memory", &hook);
    let err = sdk.track("page_view", JsValue::NULL, "advertising").unwrap_err();
    assert!(err.is_instance_of::<js_sys::Error>());
    assert_eq!(prop(&err, "code").as_string().as_deref(), Some("unknown_purpose"));
    assert_eq!(prop(&err, "field").as_string().as_deref(), Some("purpose"));
    let err = sdk.grant(vec!["analytics".into()], "robot").unwrap_err();
    assert_eq!(prop(&err, "code").as_string().as_deref(), Some("invalid_source"));
}

#[wasm_bindgen_test]
fn event_props_that_are_not_json_are_refused() {
    let (hook, _) = recorder();
    let sdk = sdk("memory", &hook);
    let cyclic = js_sys::Object::new();
    Reflect::set(&cyclic, &"self".into(), &cyclic).unwrap();
    let err = sdk.track("x", cyclic.into(), "analytics").unwrap_err();
    assert_eq!(prop(&err, "code").as_string().as_deref(), Some("invalid_props"));
    let err = sdk.track("x", JsValue::from(3), "analytics").unwrap_err();
    assert_eq!(prop(&err, "code").as_string().as_deref(), Some("invalid_props"));
}

#[wasm_bindgen_test]
async fn the_queue_is_stored_stripped_and_picked_up_by_the_next_page() {
    restore();
    let (hook, warnings) = recorder();
    let first = sdk("local", &hook);
    first.grant(vec!["analytics".into()], "banner").unwrap();
    let props = js_sys::JSON::parse(r#"{"path":"/p/1?email=jane@example.com","email":"jane@example.com"}"#).unwrap();
    let id = first.track("page_view", props, "analytics").unwrap();
    settle().await;
    assert_eq!(*warnings.borrow(), ["prop_stripped"], "reported (in a microtask, when the SDK is free)");
    let queue = stored("attune:queue").expect("the queue is written without waiting for a send");
    assert!(queue.contains(&id));
    assert!(!queue.contains("jane"), "only what may leave is stored: {queue}");
    first.destroy();

    let second = sdk("local", &hook);
    assert_eq!(second.pending(), [0, 1, 0], "the next page picks the event up");
    second.withdraw(vec!["analytics".into()], "api").unwrap();
    assert_eq!(second.pending(), [0, 0, 0], "withdrawal purges the queue in memory at once");
    settle().await;
    assert_eq!(stored("attune:queue"), None, "and the stored queue at the next cycle");
    second.destroy();
    restore();
}

#[wasm_bindgen_test]
async fn a_withdrawal_in_another_tab_reaches_this_one() {
    restore();
    let (hook, _) = recorder();
    let calls = Rc::new(RefCell::new(0));
    let counter = calls.clone();
    let on_change = Closure::<dyn FnMut()>::new(move || *counter.borrow_mut() += 1);
    let tab_a = AttuneSdk::new(
        "shop",
        "/nowhere/v1/batch",
        CONFIG,
        "local",
        Some(hook.clone()),
        Some(on_change.into_js_value().unchecked_into()),
    )
    .unwrap();
    tab_a.grant(vec!["analytics".into()], "banner").unwrap();
    tab_a.track("x", JsValue::NULL, "analytics").unwrap();
    settle().await;

    let tab_b = sdk("local", &hook);
    tab_b.withdraw(vec!["analytics".into()], "banner").unwrap();
    other_tab_changed("attune:consent");
    settle().await;
    assert_eq!(status(&tab_a, "analytics").0, "denied");
    assert_eq!(tab_a.pending(), [0, 0, 0], "tab A dropped what it had queued");
    assert_eq!(*calls.borrow(), 1, "tab A's page was told");
    tab_a.destroy();
    tab_b.destroy();
    restore();
}

#[wasm_bindgen_test]
async fn flush_resolves_after_the_collector_answered_even_while_a_cycle_runs() {
    restore();
    let (hook, warnings) = recorder();
    let sdk = sdk("local", &hook);
    sdk.grant(vec!["analytics".into()], "api").unwrap();
    // `track` starts a cycle that writes the queue; `flush` must wait for a cycle that sends.
    sdk.track("x", JsValue::NULL, "analytics").unwrap();
    wasm_bindgen_futures::JsFuture::from(sdk.flush()).await.unwrap();
    assert_eq!(*warnings.borrow(), ["batch_rejected"], "the test server answered 404 before flush resolved");
    assert_eq!(sdk.pending(), [0, 0, 0]);
    let queue: serde_json::Value = serde_json::from_str(&stored("attune:queue").unwrap()).unwrap();
    assert_eq!(queue["events"], serde_json::json!([]), "a refused batch leaves nothing queued");
    assert_eq!(queue["delivered"].as_array().unwrap().len(), 1, "its id is remembered, so no tab sends it again");
    let log = js_sys::JSON::stringify(&sdk.egress_log()).unwrap().as_string().unwrap();
    assert!(log.contains("\"status\":404") && log.contains("\"outcome\":\"refused\""), "{log}");
    sdk.destroy();
    restore();
}

#[wasm_bindgen_test]
async fn withdrawal_wipes_the_stored_pseudonymous_id() {
    restore();
    let (hook, _) = recorder();
    let sdk = sdk("local", &hook);
    sdk.grant(vec!["analytics".into()], "api").unwrap();
    // Ids are attached only beside the device key (the wrapper makes it on the grant).
    let public = new_key().await;
    sdk.set_device_key(&public).unwrap();
    sdk.track("x", JsValue::NULL, "analytics").unwrap();
    wasm_bindgen_futures::JsFuture::from(sdk.flush()).await.unwrap();
    assert!(stored("attune:ids").is_some_and(|ids| ids.contains("analytics")), "an id once analytics data left");
    sdk.withdraw(vec!["analytics".into()], "api").unwrap();
    settle().await;
    assert_eq!(stored("attune:ids"), None, "no identifier is kept for a withdrawn purpose");
    sdk.destroy();
    restore();
}

const PROMPTS: &str = r#"{"questions": [{"id": "gift", "kind": "yesNo", "purpose": "personalization",
  "retentionDays": 30, "text": {"en": "Gift?"}, "why": {"en": "w"}, "usedFor": {"en": "u"}}]}"#;

#[wasm_bindgen_test]
async fn the_profile_is_stored_and_a_page_without_prompts_removes_it_on_withdrawal() {
    restore();
    let (hook, codes) = recorder();
    let with_prompts = sdk("local", &hook);
    with_prompts.set_prompts(PROMPTS).unwrap();
    assert_eq!(stored("attune:profile"), None, "nothing is stored before personalization is granted");
    with_prompts.grant(vec!["personalization".into()], "api").unwrap();
    with_prompts.answer_prompt("gift", JsValue::TRUE).unwrap();
    let profile = stored("attune:profile").expect("the answer is written at once");
    assert!(profile.contains(r#""question":"gift""#), "{profile}");
    with_prompts.destroy();

    // Another page of the site loads no prompt config; the visitor withdraws there.
    let without = sdk("local", &hook);
    without.withdraw(vec!["personalization".into()], "api").unwrap();
    assert_eq!(stored("attune:profile"), None, "the withdrawn purpose's answer and history are gone");
    settle().await;
    without.destroy();
    assert_eq!(*codes.borrow(), ["undeclared_event"], "the site does not declare prompt_answered: said once");
    restore();
}

const CATALOG: &str = r#"{"format": 1, "dim": 20, "items": [
  {"id": "boots", "title": "Boots", "url": "/boots", "tags": ["hiking"], "popularity": 5,
   "embedding": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]},
  {"id": "socks", "title": "Socks", "url": "/socks", "tags": ["hiking"], "popularity": 1,
   "embedding": [2, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 21]},
  {"id": "pan", "title": "Pan", "url": "/pan", "tags": ["cooking"], "popularity": 50,
   "embedding": [-20, 19, -18, 17, -16, 15, -14, 13, -12, 11, -10, 9, -8, 7, -6, 5, -4, 3, -2, 1]}
]}"#;

fn ranked(sdk: &AttuneSdk) -> Vec<(String, String)> {
    let out: js_sys::Array = sdk.recommend(r#"{"k": 2}"#).unwrap().unchecked_into();
    out.iter()
        .map(|r| {
            let first: js_sys::Array = prop(&r, "because").unchecked_into();
            (prop(&r, "id").as_string().unwrap(), prop(&first.get(0), "kind").as_string().unwrap())
        })
        .collect()
}

#[wasm_bindgen_test]
fn the_simd_dot_product_matches_the_definition() {
    // This build has SIMD128 (see .cargo/config.toml); the native tests cover the plain one.
    const { assert!(cfg!(target_feature = "simd128")) };
    for n in [0usize, 1, 15, 16, 17, 64, 100] {
        let a: Vec<i8> = (0..n).map(|k| (k as i32 * 37 % 255 - 127) as i8).collect();
        let b: Vec<i8> = (0..n).map(|k| (127 - k as i32 * 11 % 255) as i8).collect();
        let expected: i32 = a.iter().zip(&b).map(|(x, y)| i32::from(*x) * i32::from(*y)).sum();
        assert_eq!(attune_core::recommend::dot_i8(&a, &b), expected, "length {n}");
    }
}

#[wasm_bindgen_test]
async fn signals_are_stored_only_with_personalization_and_wiped_on_withdrawal() {
    restore();
    let (hook, codes) = recorder();
    let sdk = sdk("local", &hook);
    sdk.set_catalog(CATALOG.as_bytes()).unwrap();
    assert!(!sdk.record_signal("boots", "view", None).unwrap(), "not recorded without personalization");
    assert_eq!(stored("attune:recs"), None);
    assert_eq!(ranked(&sdk), [("pan".to_owned(), "popular".to_owned()), ("boots".to_owned(), "popular".to_owned())]);

    sdk.grant(vec!["personalization".into()], "api").unwrap();
    assert!(sdk.record_signal("boots", "view", None).unwrap());
    assert!(stored("attune:recs").unwrap().contains("boots"), "written at once");
    assert_eq!(ranked(&sdk)[0], ("socks".to_owned(), "history".to_owned()), "the embedding says socks ≈ boots");

    // A second page (another tab) sees the same signals.
    let other = AttuneSdk::new("shop", "/nowhere/v1/batch", CONFIG, "local", Some(hook.clone()), None).unwrap();
    other.set_catalog(CATALOG.as_bytes()).unwrap();
    assert_eq!(ranked(&other)[0].0, "socks");
    other.destroy();

    sdk.withdraw(vec!["personalization".into()], "api").unwrap();
    assert_eq!(stored("attune:recs"), None, "withdrawal wipes the stored signals");
    assert_eq!(ranked(&sdk)[0], ("pan".to_owned(), "popular".to_owned()));
    settle().await;
    assert!(codes.borrow().is_empty(), "{:?}", codes.borrow());
    sdk.destroy();
    restore();
}

#[wasm_bindgen_test]
fn bad_catalogues_and_options_are_coded_errors() {
    restore();
    let (hook, _) = recorder();
    let sdk = sdk("memory", &hook);
    let no_catalog = sdk.recommend("{}").unwrap_err();
    assert_eq!(prop(&no_catalog, "code").as_string().as_deref(), Some("no_catalog"));
    let err = sdk.set_catalog(b"\x00\x01garbage").unwrap_err();
    assert!(err.is_instance_of::<js_sys::Error>());
    assert_eq!(prop(&err, "code").as_string().as_deref(), Some("invalid_input"));
    sdk.set_catalog(CATALOG.as_bytes()).unwrap();
    let err = sdk.recommend(r#"{"slot": "sidebar"}"#).unwrap_err();
    assert_eq!(prop(&err, "field").as_string().as_deref(), Some("slot"));
    sdk.destroy();
}

#[wasm_bindgen_test]
fn the_simd_fast_path_ranks_exactly_like_the_general_scan() {
    use attune_core::recommend::{Catalog, RankRequest, RecConfig, Recommender, SignalKind, Signals};
    let mut seed = 7u32;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    let items: Vec<serde_json::Value> = (0..3000)
        .map(|n| {
            let embedding: Vec<f32> = (0..64).map(|_| (next() % 2001) as f32 / 1000.0 - 1.0).collect();
            let tags: Vec<String> = (0..1 + next() % 5).map(|_| format!("t{}", next() % 40)).collect();
            serde_json::json!({"id": format!("i{n}"), "title": "t", "url": "/", "tags": tags,
                "popularity": next() % 1000, "available": next() % 10 != 0, "embedding": embedding})
        })
        .collect();
    let (catalog, _) = Catalog::from_value(&serde_json::json!({"format": 1, "dim": 64, "items": items})).unwrap();
    let now = attune_core::Millis(1_800_000_000_000);
    let mut signals = Signals::default();
    let config = RecConfig::default();
    for k in 0..30u64 {
        let item = format!("i{}", next() % 3000);
        signals.record(
            &config,
            &item,
            SignalKind::ALL[(k % 5) as usize],
            Some(0.5),
            attune_core::Millis(now.0 - k * 60_000),
        );
    }
    let mut fast = Recommender::new(catalog.clone(), None, config.clone());
    let mut general = Recommender::new(catalog, None, config);
    general.set_generic_scan_only(true);
    for req in [
        RankRequest { k: 10, ..Default::default() },
        RankRequest { k: 30, include_unavailable: true, exclude: vec!["i1".into(), "i2".into()], ..Default::default() },
        RankRequest {
            slot: attune_core::recommend::Slot::Similar,
            k: 5,
            context: vec!["i9".into()],
            ..Default::default()
        },
    ] {
        let a = fast.rank_explained(&signals, &[], &req, now).unwrap();
        let b = general.rank_explained(&signals, &[], &req, now).unwrap();
        assert_eq!(a.len(), req.k);
        assert_eq!(a, b, "{req:?}");
    }
}

#[wasm_bindgen(inline_js = r#"
const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const unb64 = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
const ECDSA = { name: 'ECDSA', namedCurve: 'P-256' };
const privateKeys = new Map();
/** Like the wrapper: a non-extractable private half kept by the page, the public half returned. */
export async function makeKey() {
  const pair = await crypto.subtle.generateKey(ECDSA, false, ['sign', 'verify']);
  const publicKey = b64(await crypto.subtle.exportKey('raw', pair.publicKey));
  privateKeys.set(publicKey, pair.privateKey);
  return publicKey;
}
export async function signWith(message, publicKey) {
  const key = privateKeys.get(publicKey);
  return b64(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, new TextEncoder().encode(message)));
}
const realFetch = window.fetch;
export const seen = { bodies: [], verified: [] };
/** Answers rights requests like the collector would (after checking the signature) and batches with 200. */
export function fakeCollector() {
  window.fetch = async (url, init) => {
    const body = JSON.parse(init.body);
    seen.bodies.push([String(url), body]);
    if (!String(url).includes('/rights/')) return new Response('{"accepted":1,"duplicates":0,"rejected":[]}', { status: 200 });
    const raw = unb64(body.publicKey);
    const key = await crypto.subtle.importKey('raw', raw, ECDSA, false, ['verify']);
    const message = `attune-rights/1\n${body.action}\n${body.siteId}\n${body.at}\n${body.nonce}\n${body.publicKey}`;
    const ok = await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, unb64(body.signature), new TextEncoder().encode(message));
    seen.verified.push(ok);
    const keyHash = [...new Uint8Array(await crypto.subtle.digest('SHA-256', raw))].map((b) => b.toString(16).padStart(2, '0')).join('');
    const receipt = { format: 'attune-erasure-receipt/1', receiptId: 'ab'.repeat(16), siteId: body.siteId, keyHash,
      requestedAt: body.at, erasedAt: body.at + 1, deleted: { events: 1, receipts: 1, pseudonymousIds: 1 },
      suppressed: { keyHash: true, pseudonymousIds: 1 } };
    return new Response(JSON.stringify(receipt), { status: ok ? 200 : 403 });
  };
}
export function realCollector() { window.fetch = realFetch; seen.bodies = []; seen.verified = []; }
export function attuneKeys() {
  const out = {};
  for (let i = 0; i < localStorage.length; i++) {
    const k = localStorage.key(i);
    if (k.startsWith('attune:')) out[k] = JSON.parse(localStorage.getItem(k));
  }
  return out;
}
export function sameJson(a, b) {
  const canon = (v) => Array.isArray(v) ? v.map(canon) : v && typeof v === 'object'
    ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])])) : v;
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = makeKey)]
    fn make_key() -> js_sys::Promise;
    #[wasm_bindgen(js_name = signWith)]
    fn sign_with(message: &str, public_key: JsValue) -> js_sys::Promise;
    #[wasm_bindgen(js_name = fakeCollector)]
    fn fake_collector();
    #[wasm_bindgen(js_name = realCollector)]
    fn real_collector();
    #[wasm_bindgen(thread_local_v2, js_name = seen)]
    static SEEN: JsValue;
    #[wasm_bindgen(js_name = attuneKeys)]
    fn attune_keys() -> JsValue;
    #[wasm_bindgen(js_name = sameJson)]
    fn same_json(a: &JsValue, b: &JsValue) -> bool;
}

async fn new_key() -> String {
    wasm_bindgen_futures::JsFuture::from(make_key()).await.unwrap().as_string().unwrap()
}

#[wasm_bindgen_test]
async fn the_device_key_is_made_once_exported_with_everything_and_cleared_with_it() {
    restore();
    let (hook, _) = recorder();
    let sdk = sdk("local", &hook);
    assert!(!sdk.needs_device_key(), "no key before a purpose that sends data is granted");
    sdk.grant(vec!["analytics".into()], "api").unwrap();
    assert!(sdk.needs_device_key());
    let public = new_key().await;
    assert!(sdk.set_device_key(&public).unwrap());
    let other = new_key().await;
    assert!(!sdk.set_device_key(&other).unwrap(), "the first key stored stays");
    assert!(stored("attune:device").is_some_and(|d| d.contains(&public) && !d.contains("privateKey")));
    sdk.track("x", JsValue::NULL, "analytics").unwrap();
    settle().await;

    // The export holds every Attune key in storage, exactly as stored.
    let export = sdk.export_device(vec!["en".into()]);
    let keys = attune_keys();
    let listed = js_sys::Object::keys(keys.unchecked_ref::<js_sys::Object>());
    assert!(listed.length() >= 3, "consent, queue and device key at least");
    assert!(same_json(&prop(&export, "storage"), &keys));
    assert_eq!(prop(&prop(&export, "device"), "publicKey").as_string().as_deref(), Some(public.as_str()));

    sdk.clear_device();
    assert_eq!(
        js_sys::Object::keys(attune_keys().unchecked_ref::<js_sys::Object>()).length(),
        0,
        "no Attune key remains"
    );
    assert_eq!(prop(&sdk.consent(), "needsBanner"), JsValue::TRUE, "consent is asked again");
    assert!(!sdk.needs_device_key());
    restore();
}

#[wasm_bindgen_test]
async fn an_erasure_request_is_signed_and_retires_the_devices_identity() {
    restore();
    fake_collector();
    let (hook, _) = recorder();
    let sdk = AttuneSdk::new("shop", "/v1/batch", CONFIG, "local", Some(hook.clone()), None).unwrap();
    sdk.grant(vec!["analytics".into()], "api").unwrap();
    let public = new_key().await;
    sdk.set_device_key(&public).unwrap();
    sdk.track("x", JsValue::NULL, "analytics").unwrap();
    wasm_bindgen_futures::JsFuture::from(sdk.flush()).await.unwrap();
    assert!(stored("attune:ids").is_some(), "the batch got a pseudonymous id");
    let bodies: js_sys::Array = SEEN.with(|s| prop(s, "bodies")).unchecked_into();
    let batch = js_sys::Array::from(&bodies.get(0)).get(1);
    assert!(prop(&batch, "device").as_string().is_some_and(|h| h.len() == 64), "the batch names the key hash");

    sdk.track("x", JsValue::NULL, "analytics").unwrap(); // waiting when the erasure comes
    let sign = Closure::<dyn FnMut(String, JsValue) -> js_sys::Promise>::new(|m: String, k: JsValue| sign_with(&m, k));
    let receipt = wasm_bindgen_futures::JsFuture::from(
        sdk.rights("erase".into(), sign.as_ref().unchecked_ref::<js_sys::Function>().clone()),
    )
    .await
    .unwrap();
    assert_eq!(prop(&receipt, "receiptId").as_string().unwrap(), "ab".repeat(16));
    let verified: js_sys::Array = SEEN.with(|s| prop(s, "verified")).unchecked_into();
    assert_eq!(verified.get(0), JsValue::TRUE, "the collector could verify the signature");
    let request = js_sys::Array::from(&bodies.get(1)).get(1);
    assert_eq!(prop(&request, "publicKey").as_string().as_deref(), Some(public.as_str()));
    assert!(stored("attune:device").is_none(), "the key is retired");
    assert!(stored("attune:ids").unwrap().contains("\"ids\":[]"), "and the ids");
    wasm_bindgen_futures::JsFuture::from(sdk.flush()).await.unwrap();
    assert_eq!(bodies.length(), 2, "the event captured before the erasure never leaves");
    assert_eq!(sdk.pending()[1], 0);

    // Without a key there is nothing to prove: a coded error, no request.
    let err = wasm_bindgen_futures::JsFuture::from(
        sdk.rights("export".into(), sign.as_ref().unchecked_ref::<js_sys::Function>().clone()),
    )
    .await
    .unwrap_err();
    assert_eq!(prop(&err, "code").as_string().as_deref(), Some("no_device_key"));
    sdk.destroy();
    real_collector();
    restore();
}

#[wasm_bindgen_test]
fn egress_log_entries_past_their_retention_are_purged_from_storage_at_start() {
    restore();
    let day = 86_400_000.0;
    let now = js_sys::Date::now();
    let entry = |at: f64| {
        format!(
            r#"{{"at":{at},"destination":"/v1/batch","transport":"fetch","status":200,"outcome":"delivered","bytes":2,"purposes":["analytics"],"events":[]}}"#
        )
    };
    let log =
        format!(r#"{{"schema":1,"entries":[{},{}]}}"#, entry((now - 31.0 * day).floor()), entry((now - day).floor()));
    web_sys::window().unwrap().local_storage().unwrap().unwrap().set_item("attune:egress-log", &log).unwrap();
    let (hook, _) = recorder();
    let sdk = sdk("local", &hook);
    let kept = stored("attune:egress-log").unwrap();
    assert_eq!(kept.matches("\"destination\"").count(), 1, "30 days by default: {kept}");
    sdk.destroy();
    restore();
}
