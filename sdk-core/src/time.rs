//! Time as a value: the core never reads a clock, callers pass `now`.

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(export, type = "number"))]
pub struct Millis(pub u64);

impl Millis {
    pub const DAY: u64 = 24 * 60 * 60 * 1000;

    /// Time elapsed since `earlier`, zero if `earlier` is in the future (clocks do go backwards).
    pub fn since(self, earlier: Millis) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}
