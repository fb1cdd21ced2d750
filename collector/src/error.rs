//! Every way a request can fail, turned into the wire-format error JSON in
//! one place: `{"error": {"code": "...", "field": "...", "message": "..."}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

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
    #[error("could not read the request body: {0}")]
    BodyRead(String),
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
    #[error("internal task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::Invalid(_) | Self::BodyRead(_) => StatusCode::BAD_REQUEST,
            Self::UnknownSite(_) | Self::OriginNotAllowed(_) => StatusCode::FORBIDDEN,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Store(_) | Self::Task(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Invalid(e) => e.code(),
            Self::UnknownSite(_) => "unknown_site",
            Self::OriginNotAllowed(_) => "origin_not_allowed",
            Self::TooLarge { .. } => "too_large",
            // A body that cannot be read is as unusable as one that is not JSON.
            Self::BodyRead(_) => "invalid_json",
            Self::Store(_) | Self::Task(_) => "internal",
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            Self::Invalid(e) => e.field(),
            Self::UnknownSite(_) => Some("siteId"),
            _ => None,
        }
    }

    fn message(&self) -> String {
        match self {
            Self::Invalid(e) => e.message(),
            // Details of server-side failures go to the log, not the client.
            Self::Store(_) | Self::Task(_) => "the collector could not store the batch".to_owned(),
            other => other.to_string(),
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
        (status, Json(json!({ "error": Value::Object(error) }))).into_response()
    }
}
