//! Who may call `/v1/batch`: same-origin callers always, cross-origin
//! callers only when their origin is configured. Also writes the CORS
//! response headers for allowed cross-origin callers.

use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_MAX_AGE,
    HOST, ORIGIN, VARY,
};
use axum::http::{HeaderMap, HeaderValue};

use crate::config::normalize_origin;

/// The verdict on a request's `Origin` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginCheck {
    /// No `Origin` header, or the origin is this collector's own host.
    SameOrigin,
    /// A configured cross-origin caller; holds the origin to echo back.
    Allowed(HeaderValue),
    /// A cross-origin caller that is not configured; holds the raw origin.
    Denied(String),
}

/// Classifies a request by its `Origin` and `Host` headers.
/// `allowed` holds origins already normalised by [`normalize_origin`].
pub fn check(headers: &HeaderMap, allowed: &[String]) -> OriginCheck {
    let Some(raw) = headers.get(ORIGIN) else {
        return OriginCheck::SameOrigin;
    };
    let Ok(text) = raw.to_str() else {
        return OriginCheck::Denied(String::from_utf8_lossy(raw.as_bytes()).into_owned());
    };
    let Some(origin) = normalize_origin(text) else {
        return OriginCheck::Denied(text.to_owned());
    };
    let host = headers.get(HOST).and_then(|h| h.to_str().ok()).map(|h| h.trim().to_ascii_lowercase());
    let authority = origin.split_once("://").map(|(_, a)| a);
    if host.is_some() && host.as_deref() == authority {
        return OriginCheck::SameOrigin;
    }
    if allowed.contains(&origin) {
        OriginCheck::Allowed(raw.clone())
    } else {
        OriginCheck::Denied(text.to_owned())
    }
}

impl OriginCheck {
    /// Adds `Access-Control-Allow-Origin` (and `Vary: Origin`) for an
    /// allowed cross-origin caller; leaves other responses untouched.
    pub fn apply(&self, headers: &mut HeaderMap) {
        if let Self::Allowed(origin) = self {
            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            headers.append(VARY, HeaderValue::from_static("Origin"));
        }
    }

    /// Adds the preflight answer headers for an allowed cross-origin caller.
    pub fn apply_preflight(&self, headers: &mut HeaderMap) {
        if let Self::Allowed(_) = self {
            self.apply(headers);
            headers.insert(ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST, OPTIONS"));
            headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("content-type, content-encoding"));
            headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(o) = origin {
            h.insert(ORIGIN, HeaderValue::from_str(o).unwrap());
        }
        if let Some(host) = host {
            h.insert(HOST, HeaderValue::from_str(host).unwrap());
        }
        h
    }

    #[test]
    fn classification() {
        let allowed = vec!["https://shop.example".to_owned()];
        assert_eq!(check(&headers(None, Some("c:1")), &allowed), OriginCheck::SameOrigin);
        assert_eq!(
            check(&headers(Some("http://127.0.0.1:8080"), Some("127.0.0.1:8080")), &allowed),
            OriginCheck::SameOrigin
        );
        assert!(matches!(
            check(&headers(Some("https://Shop.Example"), Some("c:1")), &allowed),
            OriginCheck::Allowed(_)
        ));
        assert!(matches!(check(&headers(Some("https://evil.example"), Some("c:1")), &allowed), OriginCheck::Denied(_)));
        assert!(matches!(check(&headers(Some("null"), Some("c:1")), &allowed), OriginCheck::Denied(_)));
        // An origin on the same host name but another port is cross-origin.
        assert!(matches!(check(&headers(Some("http://c:2"), Some("c:1")), &allowed), OriginCheck::Denied(_)));
    }
}
