//! Progressive profiling: marketer-configured questions ([`config`]) and the scheduler that
//! decides which one, if any, to show now and why ([`scheduler`]).
//!
//! Not yet wired into the engine or the browser bindings (issue 4 is in progress).

pub mod config;
pub mod scheduler;

#[cfg(test)]
mod tests;
