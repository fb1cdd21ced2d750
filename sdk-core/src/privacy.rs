//! The visitor's rights that reach the server: the device key that proves which server-side data
//! is this device's, the signed requests for a copy or an erasure, and the checks on the
//! collector's answers. The export document itself is built by the engine (`engine/privacy.rs`).
//!
//! The device key is an ECDSA P-256 key pair made by the browser (WebCrypto) the first time a
//! purpose that sends data is granted. Its private half is a non-extractable `CryptoKey` kept in
//! IndexedDB by the wrapper: it signs on this device and cannot be read, not even by the page.
//! This crate keeps the public half (`attune:device`). Batches carry only `device`, the SHA-256 of
//! the public key, with which the collector files the device's pseudonymous ids; a request for a
//! copy or an erasure is signed, and carries the public key so the collector can check the
//! signature against the hash it holds. An id alone (a `pid` or the key hash, both of which
//! appear in traffic and logs) proves nothing.

use crate::error::ErrorCode;
use crate::ids::{base64url_decode, hex, is_lower_hex};
use crate::time::Millis;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Largest stored device record, and largest answer from the collector the SDK reads.
const MAX_DEVICE_BYTES: usize = 4096;
pub const MAX_RIGHTS_RESPONSE_BYTES: usize = 8 * 1024 * 1024;
/// The export format (device and collector alike).
pub const EXPORT_FORMAT: &str = "attune-export/1";
pub const ERASURE_FORMAT: &str = "attune-erasure-receipt/1";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrivacyError {
    #[error(
        "no device key: nothing was ever sent from this device with an id, so the site holds nothing it can link to it"
    )]
    NoDeviceKey,
    #[error("invalid device key at {field}: {message}")]
    InvalidKey { field: String, message: String },
    #[error("invalid {field}: {message}")]
    Invalid { field: String, message: String },
    #[error("the collector refused the request (HTTP {status}, {code}): {message}")]
    Refused { status: u16, code: String, message: String },
    #[error("the collector's answer is not what was asked for, at {field}: {message}")]
    BadResponse { field: String, message: String },
    #[error("the request could not reach the collector")]
    Network,
}

impl ErrorCode for PrivacyError {
    fn code(&self) -> &'static str {
        match self {
            PrivacyError::NoDeviceKey => "no_device_key",
            PrivacyError::InvalidKey { .. } => "invalid_device_key",
            PrivacyError::Invalid { .. } => "invalid_input",
            PrivacyError::Refused { .. } => "rights_refused",
            PrivacyError::BadResponse { .. } => "invalid_response",
            PrivacyError::Network => "network_error",
        }
    }
    fn field(&self) -> Option<String> {
        match self {
            PrivacyError::InvalidKey { field, .. }
            | PrivacyError::Invalid { field, .. }
            | PrivacyError::BadResponse { field, .. } => Some(field.clone()),
            _ => None,
        }
    }
}

fn bad_key(field: &str, message: impl Into<String>) -> PrivacyError {
    PrivacyError::InvalidKey { field: field.into(), message: message.into() }
}

/// The public half of the device key, as stored under `attune:device`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceKey {
    /// base64url (no padding) of the 65-byte uncompressed public point; the wrapper finds the
    /// private half by it.
    pub public_key: String,
    pub created: Millis,
    /// Data captured up to this time belongs to an identity the visitor had erased on the
    /// server: it never leaves (set on the key made after an erasure).
    pub erased_before: Option<Millis>,
    /// Lowercase hex SHA-256 of the public point: what batches carry and the collector files.
    pub key_hash: String,
}

impl DeviceKey {
    /// Checks a public key the browser made: an uncompressed P-256 point (the collector checks
    /// it is on the curve).
    pub fn new(public_key: &str, created: Millis, erased_before: Option<Millis>) -> Result<Self, PrivacyError> {
        let point = base64url_decode(public_key)
            .filter(|p| p.len() == 65 && p[0] == 4)
            .ok_or_else(|| bad_key("publicKey", "expected base64url of a 65-byte uncompressed P-256 point"))?;
        let key_hash = hex(&Sha256::digest(&point));
        Ok(Self { public_key: public_key.into(), created, erased_before, key_hash })
    }

    pub fn encode(&self) -> String {
        let mut doc = Map::new();
        doc.insert("schema".into(), Value::from(crate::snapshot::SCHEMA_VERSION));
        doc.insert("publicKey".into(), Value::from(self.public_key.clone()));
        doc.insert("created".into(), Value::from(self.created.0));
        if let Some(at) = self.erased_before {
            doc.insert("erasedBefore".into(), Value::from(at.0));
        }
        Value::Object(doc).to_string()
    }

    /// Reads a stored record; anything unexpected is an error (the key is then not used).
    pub fn decode(raw: &str) -> Result<Self, PrivacyError> {
        if raw.len() > MAX_DEVICE_BYTES {
            return Err(bad_key("$", "too large"));
        }
        let doc: Map<String, Value> = serde_json::from_str(raw).map_err(|e| bad_key("$", e.to_string()))?;
        if doc.get("schema").and_then(Value::as_u64) != Some(u64::from(crate::snapshot::SCHEMA_VERSION)) {
            return Err(bad_key("schema", "expected schema 1"));
        }
        let public_key = doc.get("publicKey").and_then(Value::as_str).ok_or_else(|| bad_key("publicKey", "missing"))?;
        let created = doc.get("created").and_then(Value::as_u64).ok_or_else(|| bad_key("created", "missing"))?;
        let erased_before = match doc.get("erasedBefore") {
            None => None,
            Some(v) => Some(Millis(v.as_u64().ok_or_else(|| bad_key("erasedBefore", "expected a time"))?)),
        };
        Self::new(public_key, Millis(created), erased_before)
    }
}

/// What a rights request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RightsAction {
    Export,
    Erase,
}

impl RightsAction {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "export" => Some(Self::Export),
            "erase" => Some(Self::Erase),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::Export => "export",
            Self::Erase => "erase",
        }
    }
}

/// A request ready to be signed: the bindings sign `message` with the private key and pass the
/// signature to [`RightsRequest::body`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RightsRequest {
    pub action: RightsAction,
    pub url: String,
    pub site_id: String,
    pub at: Millis,
    pub nonce: String,
    pub public_key: String,
    /// The exact text to sign (ECDSA P-256, SHA-256).
    pub message: String,
}

impl RightsRequest {
    pub fn new(
        action: RightsAction,
        endpoint: &str,
        site_id: &str,
        at: Millis,
        nonce: String,
        key: &DeviceKey,
    ) -> Self {
        let message = format!("attune-rights/1\n{}\n{site_id}\n{}\n{nonce}\n{}", action.name(), at.0, key.public_key);
        Self {
            action,
            url: rights_url(endpoint, action),
            site_id: site_id.into(),
            at,
            nonce,
            public_key: key.public_key.clone(),
            message,
        }
    }

    /// The JSON body, with the signature (base64url of the 64-byte `r‖s`).
    pub fn body(&self, signature: &str) -> Result<String, PrivacyError> {
        if base64url_decode(signature).is_none_or(|s| s.len() != 64) {
            return Err(PrivacyError::Invalid {
                field: "signature".into(),
                message: "expected base64url of a 64-byte ECDSA signature".into(),
            });
        }
        let body = serde_json::json!({
            "v": 1,
            "siteId": self.site_id,
            "action": self.action.name(),
            "at": self.at.0,
            "nonce": self.nonce,
            "publicKey": self.public_key,
            "signature": signature,
        });
        Ok(body.to_string())
    }
}

/// Where rights requests go: beside the batch endpoint (`/v1/batch` → `/v1/rights/erase`).
pub fn rights_url(endpoint: &str, action: RightsAction) -> String {
    let base = endpoint.strip_suffix("/batch").unwrap_or_else(|| endpoint.trim_end_matches('/'));
    format!("{base}/rights/{}", action.name())
}

/// Reads the collector's answer to a rights request: the export document or the erasure
/// receipt, checked field by field; an error answer becomes [`PrivacyError::Refused`].
pub fn read_rights_response(
    request: &RightsRequest,
    key: &DeviceKey,
    status: u16,
    body: &str,
) -> Result<Value, PrivacyError> {
    let bad = |field: &str, message: &str| PrivacyError::BadResponse { field: field.into(), message: message.into() };
    if body.len() > MAX_RIGHTS_RESPONSE_BYTES {
        return Err(bad("$", "the answer is too large"));
    }
    let doc: Value = serde_json::from_str(body).map_err(|_| bad("$", "the answer is not JSON"))?;
    if !(200..300).contains(&status) {
        let error = doc.get("error");
        let text = |k: &str| error.and_then(|e| e.get(k)).and_then(Value::as_str).unwrap_or_default().to_owned();
        return Err(PrivacyError::Refused { status, code: text("code"), message: text("message") });
    }
    let obj = doc.as_object().ok_or_else(|| bad("$", "expected an object"))?;
    let text = |k: &str| obj.get(k).and_then(Value::as_str);
    let number = |k: &str| obj.get(k).and_then(Value::as_u64);
    if text("siteId") != Some(&request.site_id) {
        return Err(bad("siteId", "not this site"));
    }
    match request.action {
        RightsAction::Export => {
            if text("format") != Some(EXPORT_FORMAT) || text("source") != Some("collector") {
                return Err(bad("format", "expected an attune-export/1 document from the collector"));
            }
            number("generatedAt").ok_or_else(|| bad("generatedAt", "expected a time"))?;
            for list in ["pseudonymousIds", "events", "receipts"] {
                if !obj.get(list).is_some_and(Value::is_array) {
                    return Err(bad(list, "expected an array"));
                }
            }
            match obj.get("device") {
                Some(Value::Null) => {}
                Some(d) if d.get("keyHash").and_then(Value::as_str) == Some(&key.key_hash) => {}
                _ => return Err(bad("device.keyHash", "not this device's key")),
            }
        }
        RightsAction::Erase => {
            if text("format") != Some(ERASURE_FORMAT) {
                return Err(bad("format", "expected an attune-erasure-receipt/1"));
            }
            if !text("receiptId").is_some_and(|id| is_lower_hex(id, 32)) {
                return Err(bad("receiptId", "expected 32 hex characters"));
            }
            if text("keyHash") != Some(&key.key_hash) {
                return Err(bad("keyHash", "not this device's key"));
            }
            if number("requestedAt") != Some(request.at.0) {
                return Err(bad("requestedAt", "not this request's time"));
            }
            number("erasedAt").ok_or_else(|| bad("erasedAt", "expected a time"))?;
            for count in ["events", "receipts", "pseudonymousIds"] {
                if !obj.get("deleted").and_then(|d| d.get(count)).is_some_and(Value::is_u64) {
                    return Err(bad(&format!("deleted.{count}"), "expected a count"));
                }
            }
        }
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::base64url_encode;

    fn key() -> DeviceKey {
        let mut point = vec![4u8];
        point.extend((1..=64).map(|i| i as u8));
        DeviceKey::new(&base64url_encode(&point), Millis(5), None).unwrap()
    }

    #[test]
    fn a_key_round_trips_and_its_hash_is_of_the_public_point() {
        let k = key();
        assert_eq!(DeviceKey::decode(&k.encode()), Ok(k.clone()));
        let point = base64url_decode(&k.public_key).unwrap();
        assert_eq!(k.key_hash, crate::ids::sha256_hex(&point));
    }

    #[test]
    fn a_bad_point_or_record_is_refused() {
        let k = key();
        let compressed = base64url_encode(&[3; 33]);
        for bad in ["AAAA", compressed.as_str(), "not base64!"] {
            let err = DeviceKey::new(bad, Millis(1), None).unwrap_err();
            assert_eq!((err.code(), err.field().as_deref()), ("invalid_device_key", Some("publicKey")), "{bad}");
        }
        let no_time = k.encode().replace("\"created\"", "\"made\"");
        for raw in ["", "{}", "null", r#"{"schema":1}"#, &no_time, &k.encode().replace("\"schema\":1", "\"schema\":2")]
        {
            assert!(DeviceKey::decode(raw).is_err(), "{raw}");
        }
        assert!(!k.encode().contains("privateKey"), "the private half is never in this record");
    }

    #[test]
    fn the_signed_message_binds_action_site_time_nonce_and_key() {
        let k = key();
        let r = RightsRequest::new(RightsAction::Erase, "/v1/batch", "shop", Millis(42), "ab".repeat(16), &k);
        assert_eq!(r.url, "/v1/rights/erase");
        assert_eq!(r.message, format!("attune-rights/1\nerase\nshop\n42\n{}\n{}", "ab".repeat(16), k.public_key));
        assert!(r.body("short").is_err());
        let body: Value = serde_json::from_str(&r.body(&base64url_encode(&[1; 64])).unwrap()).unwrap();
        assert_eq!(body["action"], "erase");
        assert_eq!(body["publicKey"], k.public_key.as_str());
        assert_eq!(
            rights_url("https://c.example/collect/", RightsAction::Export),
            "https://c.example/collect/rights/export"
        );
    }

    #[test]
    fn answers_are_checked_against_the_request() {
        let k = key();
        let r = RightsRequest::new(RightsAction::Erase, "/v1/batch", "shop", Millis(42), "ab".repeat(16), &k);
        let good = serde_json::json!({
            "format": ERASURE_FORMAT, "receiptId": "cd".repeat(16), "siteId": "shop", "keyHash": k.key_hash,
            "requestedAt": 42, "erasedAt": 50,
            "deleted": {"events": 3, "receipts": 1, "pseudonymousIds": 2}, "suppressed": {"keyHash": true, "pseudonymousIds": 2},
        });
        assert!(read_rights_response(&r, &k, 200, &good.to_string()).is_ok());
        let mut other = good.clone();
        other["keyHash"] = Value::from("00".repeat(32));
        let err = read_rights_response(&r, &k, 200, &other.to_string()).unwrap_err();
        assert_eq!(err.field().as_deref(), Some("keyHash"));
        let refused = r#"{"error":{"code":"invalid_proof","message":"bad signature"}}"#;
        let err = read_rights_response(&r, &k, 403, refused).unwrap_err();
        assert_eq!(err.code(), "rights_refused");
        assert!(err.to_string().contains("invalid_proof"));
        assert_eq!(read_rights_response(&r, &k, 200, "<html>").unwrap_err().code(), "invalid_response");
    }
}
