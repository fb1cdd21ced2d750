//! Offline recommender tools for Attune, run by a site's batch jobs and by the evaluation:
//!
//! - [`ml100k`]: MovieLens 100K into an Attune catalogue and an events CSV;
//! - [`neighbours`]: the neighbours sidecar the SDK's ranker reads;
//! - [`replay`]: every user's top-k from a log, through the Attune core;
//! - [`eval`]: leave-last-out evaluation against popularity and item-kNN.
//!
//! Below them: [`csv`] (the CSV dialect), [`events`] (logs into per-user histories) and
//! [`catalog`] (the catalogue document).

pub mod catalog;
pub mod csv;
pub mod eval;
pub mod events;
pub mod ml100k;
pub mod neighbours;
pub mod replay;
