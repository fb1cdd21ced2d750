//! Rights requests (`POST /v1/rights/export`, `/v1/rights/erase`) and the
//! proof they carry: an ECDSA P-256 / SHA-256 signature by the device key.
//!
//! Only the holder of a device's private key can ask for its data: a
//! request that names a device, a pid or a key hash without a proof is
//! refused with `proof_required` before anything else is looked at.
//!
//! A proof is good once: the store spends each answered request's nonce
//! (`replayed_proof` for a second use). ECDSA signatures are malleable —
//! `(r, n − s)` verifies wherever `(r, s)` does — and both forms are
//! accepted, because WebCrypto does not normalise `s` (Chromium's emits a
//! high-S signature about half the time); the nonce, not the signature
//! bytes, is what makes a replayed or malleated request fail.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::Value;

use crate::digest::sha256_hex;
use crate::error::ApiError;
use crate::validate::{
    self, expect_str, expect_timestamp, invalid, invalid_str, is_lower_hex, is_site_id, reject_unknown, require,
    ValidationError, SITE_ID_RULE,
};

/// Largest rights request body, on the wire and decompressed.
pub const MAX_RIGHTS_BODY_BYTES: usize = 16 * 1024;
/// How far `at` may be from the collector's clock, either way: 5 minutes.
pub const MAX_CLOCK_SKEW_MS: i64 = 5 * 60 * 1000;
/// How long the nonce of an answered request is kept, counted from its
/// `at`: twice [`MAX_CLOCK_SKEW_MS`], so it outlives every moment at which
/// the same request would still be fresh.
pub const NONCE_KEPT_MS: i64 = 2 * MAX_CLOCK_SKEW_MS;
/// First line of the signed message.
pub const SIGNED_MESSAGE_VERSION: &str = "attune-rights/1";

const PUBLIC_KEY_RULE: &str =
    "base64url without padding of a 65-byte uncompressed P-256 public key (0x04 || X || Y), 87 characters";
const SIGNATURE_RULE: &str = "base64url without padding of a 64-byte P-256 signature (r || s), 86 characters";
const NONCE_RULE: &str = "32 lowercase hex characters";

/// What a rights request asks for; each has its own endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RightsAction {
    Export,
    Erase,
}

impl RightsAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Export => "export",
            Self::Erase => "erase",
        }
    }
}

/// A rights request whose fields passed every rule; its proof is not yet
/// checked (see [`RightsRequest::check_fresh`] and
/// [`RightsRequest::verify_signature`]).
#[derive(Debug, Clone)]
pub struct RightsRequest {
    pub site_id: String,
    pub action: RightsAction,
    /// When the device signed, ms since the epoch.
    pub at: i64,
    pub nonce: String,
    /// As sent: base64url of the 65-byte point. It is part of the signed message.
    pub public_key: String,
    /// Lowercase hex SHA-256 of the 65 raw public key bytes.
    pub key_hash: String,
    verifying_key: VerifyingKey,
    signature: [u8; 64],
}

/// Parses a rights request body for the endpoint of `action`. Order of
/// checks: JSON, then the presence of a proof (`publicKey` and `signature`;
/// `proof_required` without), then every field.
pub fn parse_rights_request(body: &[u8], action: RightsAction) -> Result<RightsRequest, ApiError> {
    let root = validate::parse_json(body)?;
    let has = |key: &str| root.get(key).is_some_and(|v| !v.is_null());
    if !has("publicKey") || !has("signature") {
        return Err(ApiError::ProofRequired);
    }
    Ok(validate_rights_request(&root, action)?)
}

fn validate_rights_request(root: &Value, action: RightsAction) -> Result<RightsRequest, ValidationError> {
    // `parse_rights_request` has checked that the root is an object with a proof.
    let obj = validate::expect_object(root, "", "a JSON object at the top level")?;
    reject_unknown(obj, "", &["v", "siteId", "action", "at", "nonce", "publicKey", "signature"])?;

    let v = require(obj, "", "v")?;
    if v.as_u64() != Some(1) {
        return Err(invalid("v", "expected the integer 1", v));
    }

    let site_id = expect_str(require(obj, "", "siteId")?, "siteId", SITE_ID_RULE)?;
    if !is_site_id(site_id) {
        return Err(invalid_str("siteId", SITE_ID_RULE, site_id));
    }

    let expected_action = format!("\"{}\" (the action of this endpoint)", action.as_str());
    let sent_action = expect_str(require(obj, "", "action")?, "action", &expected_action)?;
    if sent_action != action.as_str() {
        return Err(invalid_str("action", &expected_action, sent_action));
    }

    let at = expect_timestamp(require(obj, "", "at")?, "at")?;

    let nonce = expect_str(require(obj, "", "nonce")?, "nonce", NONCE_RULE)?;
    if !is_lower_hex(nonce, 32) {
        return Err(invalid_str("nonce", NONCE_RULE, nonce));
    }

    let public_key = expect_str(require(obj, "", "publicKey")?, "publicKey", PUBLIC_KEY_RULE)?;
    let key_bytes = decode_base64url(public_key, 65)
        .filter(|bytes| bytes[0] == 0x04)
        .ok_or_else(|| invalid_str("publicKey", PUBLIC_KEY_RULE, public_key))?;
    let verifying_key = VerifyingKey::from_sec1_bytes(&key_bytes).map_err(|_| ValidationError::InvalidField {
        field: "publicKey".to_owned(),
        message: "expected a point on the P-256 curve; these 65 bytes are not one".to_owned(),
    })?;

    let signature = expect_str(require(obj, "", "signature")?, "signature", SIGNATURE_RULE)?;
    let signature: [u8; 64] = decode_base64url(signature, 64)
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| invalid_str("signature", SIGNATURE_RULE, signature))?;

    Ok(RightsRequest {
        site_id: site_id.to_owned(),
        action,
        at,
        nonce: nonce.to_owned(),
        public_key: public_key.to_owned(),
        key_hash: sha256_hex(&key_bytes),
        verifying_key,
        signature,
    })
}

/// Strict base64url without padding, decoding to exactly `len` bytes.
fn decode_base64url(text: &str, len: usize) -> Option<Vec<u8>> {
    // Length first, so a huge string is never decoded.
    if text.len() != (len * 4).div_ceil(3) {
        return None;
    }
    URL_SAFE_NO_PAD.decode(text).ok().filter(|bytes| bytes.len() == len)
}

impl RightsRequest {
    /// The exact text the device signed.
    pub fn signed_message(&self) -> String {
        format!(
            "{SIGNED_MESSAGE_VERSION}\n{}\n{}\n{}\n{}\n{}",
            self.action.as_str(),
            self.site_id,
            self.at,
            self.nonce,
            self.public_key
        )
    }

    /// `stale_proof` unless `at` is within [`MAX_CLOCK_SKEW_MS`] of `now`.
    pub fn check_fresh(&self, now: i64) -> Result<(), ApiError> {
        if (now - self.at).abs() <= MAX_CLOCK_SKEW_MS {
            Ok(())
        } else {
            Err(ApiError::StaleProof { skew_ms: now - self.at })
        }
    }

    /// `invalid_proof` unless `signature` is the device key's ECDSA P-256 /
    /// SHA-256 signature of [`RightsRequest::signed_message`], low-S or
    /// high-S alike.
    pub fn verify_signature(&self) -> Result<(), ApiError> {
        let signature = Signature::from_slice(&self.signature).map_err(|_| ApiError::InvalidProof)?;
        self.verifying_key.verify(self.signed_message().as_bytes(), &signature).map_err(|_| ApiError::InvalidProof)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Signer as _;
    use p256::ecdsa::SigningKey;
    use serde_json::json;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_slice(&[seed; 32]).unwrap()
    }

    fn public_key(key: &SigningKey) -> String {
        URL_SAFE_NO_PAD.encode(key.verifying_key().to_sec1_point(false).as_bytes())
    }

    fn signed(key: &SigningKey, action: &str, at: i64) -> Value {
        let public_key = public_key(key);
        let nonce = "0".repeat(32);
        let message = format!("attune-rights/1\n{action}\ndemo-shop\n{at}\n{nonce}\n{public_key}");
        let signature: Signature = key.sign(message.as_bytes());
        json!({
            "v": 1, "siteId": "demo-shop", "action": action, "at": at, "nonce": nonce,
            "publicKey": public_key, "signature": URL_SAFE_NO_PAD.encode(signature.to_bytes()),
        })
    }

    fn parse(body: &Value, action: RightsAction) -> Result<RightsRequest, ApiError> {
        parse_rights_request(body.to_string().as_bytes(), action)
    }

    fn field_error(body: &Value) -> (&'static str, String) {
        match parse(body, RightsAction::Erase) {
            Err(ApiError::Invalid(e)) => (e.code(), e.field().unwrap_or_default().to_owned()),
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn a_signed_request_parses_and_verifies() {
        let k = key(7);
        let request = parse(&signed(&k, "erase", 1_000), RightsAction::Erase).unwrap();
        assert_eq!(public_key(&k).len(), 87);
        assert_eq!(request.key_hash, sha256_hex(k.verifying_key().to_sec1_point(false).as_bytes()));
        request.check_fresh(1_000 + MAX_CLOCK_SKEW_MS).unwrap();
        request.check_fresh(1_000 - MAX_CLOCK_SKEW_MS).unwrap();
        assert!(matches!(request.check_fresh(1_001 + MAX_CLOCK_SKEW_MS), Err(ApiError::StaleProof { .. })));
        request.verify_signature().unwrap();
    }

    #[test]
    fn a_proof_is_fresh_for_five_minutes_either_way() {
        let request = parse(&signed(&key(7), "export", 10 * 60 * 1000), RightsAction::Export).unwrap();
        let minute = 60 * 1000;
        for now in [5 * minute, 15 * minute] {
            request.check_fresh(now).unwrap();
        }
        for now in [5 * minute - 1, 15 * minute + 1] {
            assert!(matches!(request.check_fresh(now), Err(ApiError::StaleProof { .. })), "{now}");
        }
    }

    #[test]
    fn high_and_low_s_signatures_both_verify() {
        // WebCrypto does not normalise s (Chromium emits high-S about half the time): both forms
        // are accepted; replaying either is refused by the nonce store, not here.
        use p256::elliptic_curve::scalar::IsHigh as _;
        let k = key(11);
        let mut forms = [false, false];
        for at in 0..32 {
            let body = signed(&k, "erase", at);
            let signature = URL_SAFE_NO_PAD.decode(body["signature"].as_str().unwrap()).unwrap();
            let signature = Signature::from_slice(&signature).unwrap();
            let (r, s) = signature.split_scalars();
            for candidate in [signature, Signature::from_scalars(r, -*s).unwrap()] {
                let mut body = body.clone();
                body["signature"] = json!(URL_SAFE_NO_PAD.encode(candidate.to_bytes()));
                parse(&body, RightsAction::Erase).unwrap().verify_signature().unwrap();
                forms[usize::from(bool::from(candidate.s().is_high()))] = true;
            }
        }
        assert_eq!(forms, [true, true]);
    }

    #[test]
    fn no_proof_is_proof_required_whatever_else_is_named() {
        for body in [
            json!({"siteId": "x", "pid": "0".repeat(32)}),
            json!({"siteId": "x", "device": "0".repeat(64)}),
            json!({"siteId": "x", "keyHash": "0".repeat(64), "publicKey": public_key(&key(1))}),
            json!({"signature": "x", "publicKey": null}),
            json!([1, 2]),
            json!("erase"),
        ] {
            assert!(matches!(parse(&body, RightsAction::Erase), Err(ApiError::ProofRequired)), "{body}");
        }
        let mut body = signed(&key(1), "erase", 5);
        body.as_object_mut().unwrap().remove("signature");
        assert!(matches!(parse(&body, RightsAction::Erase), Err(ApiError::ProofRequired)));
        assert!(matches!(
            parse_rights_request(b"{not json", RightsAction::Erase),
            Err(ApiError::Invalid(ValidationError::InvalidJson { .. }))
        ));
    }

    #[test]
    fn each_field_is_checked_and_named() {
        let good = signed(&key(3), "erase", 5);
        type Mutate = fn(&mut Value);
        let cases: &[(Mutate, &str, &str)] = &[
            (|b| b["pid"] = json!("0".repeat(32)), "unknown_field", "pid"),
            (|b| b["v"] = json!(2), "invalid_field", "v"),
            (
                |b| {
                    b.as_object_mut().unwrap().remove("siteId");
                },
                "missing_field",
                "siteId",
            ),
            (|b| b["siteId"] = json!("a b"), "invalid_field", "siteId"),
            (|b| b["action"] = json!("export"), "invalid_field", "action"),
            (|b| b["at"] = json!(-1), "invalid_field", "at"),
            (|b| b["at"] = json!("5"), "invalid_field", "at"),
            (|b| b["nonce"] = json!("ABCDEF0123456789ABCDEF0123456789"), "invalid_field", "nonce"),
            (
                |b| {
                    b.as_object_mut().unwrap().remove("nonce");
                },
                "missing_field",
                "nonce",
            ),
            (|b| b["publicKey"] = json!(7), "invalid_field", "publicKey"),
            (|b| b["publicKey"] = json!("A".repeat(87)), "invalid_field", "publicKey"),
            (|b| b["publicKey"] = json!(format!("BA{}", "A".repeat(85))), "invalid_field", "publicKey"),
            (
                |b| b["publicKey"] = json!(format!("{}=", b["publicKey"].as_str().unwrap())),
                "invalid_field",
                "publicKey",
            ),
            (|b| b["signature"] = json!("A".repeat(85)), "invalid_field", "signature"),
            (|b| b["signature"] = json!(format!("{}+/", "A".repeat(84))), "invalid_field", "signature"),
        ];
        for (mutate, code, field) in cases {
            let mut body = good.clone();
            mutate(&mut body);
            assert_eq!(field_error(&body), (*code, (*field).to_owned()), "{body}");
        }
    }

    #[test]
    fn a_signature_over_anything_else_or_by_another_key_is_invalid() {
        let k = key(9);
        let mut body = signed(&k, "export", 1_000);
        body["at"] = json!(1_001);
        let request = parse(&body, RightsAction::Export).unwrap();
        assert!(matches!(request.verify_signature(), Err(ApiError::InvalidProof)));

        // Another key signs the same body, claiming the first key.
        let mut body = signed(&key(10), "export", 1_000);
        body["publicKey"] = json!(public_key(&k));
        let request = parse(&body, RightsAction::Export).unwrap();
        assert!(matches!(request.verify_signature(), Err(ApiError::InvalidProof)));

        // An all-zero r || s is well-formed base64url but no signature at all.
        let mut body = signed(&k, "export", 1_000);
        body["signature"] = json!("A".repeat(86));
        let request = parse(&body, RightsAction::Export).unwrap();
        assert!(matches!(request.verify_signature(), Err(ApiError::InvalidProof)));
    }
}
