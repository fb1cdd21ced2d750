//! Every way a request can fail, turned into the wire-format error JSON in
//! one place: `{"error": {"code": "...", "field": "...", "message": "..."}}`.

use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use crate::proof::MAX_CLOCK_SKEW_MS;
use crate::store::StoreError;
use crate::validate::ValidationError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("siteId {0:?} is not configured on this collector")]
    UnknownSite(String),
    #[error("origin {0:?} is not allowed to call this collector")]
    OriginNotAllowed(String),
    #[error("request body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("request body is larger than {limit} bytes once decompressed")]
    TooLargeDecompressed { limit: usize },
    #[error("Content-Encoding {0:?} is not supported; send gzip or identity")]
    UnsupportedEncoding(String),
    #[error("body is not valid gzip: {0}")]
    BadGzip(String),
    #[error("too many requests; retry after {retry_after} s")]
    RateLimited { retry_after: u64 },
    #[error(
        "this request needs a proof of the device key: publicKey and signature. \
         A device id, pseudonymous id or key hash alone is not enough"
    )]
    ProofRequired,
    #[error(
        "at is {} s {} the collector's clock; a proof is accepted for {} minutes either way: sign a new one",
        .skew_ms.unsigned_abs() / 1000,
        if *.skew_ms > 0 { "behind" } else { "ahead of" },
        MAX_CLOCK_SKEW_MS / 60_000
    )]
    StaleProof { skew_ms: i64 },
    #[error("signature is not the ECDSA P-256 / SHA-256 signature of this request by publicKey")]
    InvalidProof,
    #[error("this request's nonce was already used by this device key: a proof is good once; sign a new request")]
    ReplayedProof,
    #[error("could not read the request body: {0}")]
    BodyRead(String),
    #[error("storage failed: {0}")]
    Store(StoreError),
    #[error("internal task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("no randomness from the operating system: {0}")]
    Random(String),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::Invalid(_) | Self::BodyRead(_) | Self::BadGzip(_) => StatusCode::BAD_REQUEST,
            Self::UnknownSite(_)
            | Self::OriginNotAllowed(_)
            | Self::ProofRequired
            | Self::StaleProof { .. }
            | Self::InvalidProof
            | Self::ReplayedProof => StatusCode::FORBIDDEN,
            Self::TooLarge { .. } | Self::TooLargeDecompressed { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedEncoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Store(_) | Self::Task(_) | Self::Random(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Invalid(e) => e.code(),
            Self::UnknownSite(_) => "unknown_site",
            Self::OriginNotAllowed(_) => "origin_not_allowed",
            Self::TooLarge { .. } | Self::TooLargeDecompressed { .. } => "too_large",
            Self::UnsupportedEncoding(_) => "unsupported_encoding",
            Self::RateLimited { .. } => "rate_limited",
            Self::ProofRequired => "proof_required",
            Self::StaleProof { .. } => "stale_proof",
            Self::InvalidProof => "invalid_proof",
            Self::ReplayedProof => "replayed_proof",
            // A body that cannot be read or decompressed is as unusable as one that is not JSON.
            Self::BodyRead(_) | Self::BadGzip(_) => "invalid_json",
            Self::Store(_) | Self::Task(_) | Self::Random(_) => "internal",
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            Self::Invalid(e) => e.field(),
            Self::UnknownSite(_) => Some("siteId"),
            Self::StaleProof { .. } => Some("at"),
            Self::InvalidProof => Some("signature"),
            Self::ReplayedProof => Some("nonce"),
            _ => None,
        }
    }

    fn message(&self) -> String {
        match self {
            Self::Invalid(e) => e.message(),
            // Details of server-side failures go to the log, not the client.
            Self::Store(_) | Self::Task(_) | Self::Random(_) => {
                "the collector could not complete the request; retry later".to_owned()
            }
            other => other.to_string(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            // A nonce spent by an earlier answer is the client's fault, not the store's.
            StoreError::NonceUsed => Self::ReplayedProof,
            e => Self::Store(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        } else {
            tracing::info!(code = self.code(), field = self.field(), "request rejected");
        }
        let mut error = Map::new();
        error.insert("code".into(), self.code().into());
        if let Some(field) = self.field() {
            error.insert("field".into(), field.into());
        }
        error.insert("message".into(), self.message().into());
        let mut response = (status, Json(json!({ "error": Value::Object(error) }))).into_response();
        if let Self::RateLimited { retry_after } = self {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(retry_after));
        }
        response
    }
}
