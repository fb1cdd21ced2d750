//! What every error of the core can tell the outside world.
//!
//! Each area has its own `thiserror` enum (`ConfigError`, `ConsentError`, `StateError`,
//! `TrackError`); they all implement [`ErrorCode`] so the bindings convert them to JS in one place.

/// A stable, machine-readable description of an error.
pub trait ErrorCode: std::error::Error {
    /// Stable snake_case code, part of the public API (`err.code` in JS).
    fn code(&self) -> &'static str;
    /// Path of the offending input (`purposes[2].id`), when the error is about one field.
    fn field(&self) -> Option<String> {
        None
    }
}
